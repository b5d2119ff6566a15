/**
 * How the CLI writes: tables and lines for people, one JSON document (or one JSON line
 * per event for tail/watch) with `--json`. Colours only when stdout is a terminal and
 * NO_COLOR is not set, never in JSON.
 */
export interface Output {
  readonly json: boolean;
  readonly color: boolean;
  /** Writes one line to stdout. */
  line(text?: string): void;
  /** Writes a value as JSON: pretty for a whole result, one line when `compact` (streams). */
  data(value: unknown, compact?: boolean): void;
  /** Writes a message to stderr (progress, hints): never mixed into stdout's data. */
  note(text: string): void;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export function createOutput(json: boolean, streams: Streams): Output {
  const color = !json && streams.stdout.isTTY === true && !streams.env.NO_COLOR;
  return {
    json,
    color,
    line: (text = '') => void streams.stdout.write(`${text}\n`),
    data: (value, compact = false) => void streams.stdout.write(`${JSON.stringify(value, null, compact ? undefined : 2)}\n`),
    note: (text) => void streams.stderr.write(`${text}\n`),
  };
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;

/** Wraps text in an ANSI style when the output has colours. */
export function paint(out: Pick<Output, 'color'>, style: keyof typeof CODES, text: string): string {
  if (!out.color) return text;
  const [open, close] = CODES[style];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}

/** Visible length (ANSI styles do not count). */
function width(text: string): number {
  return text.replace(/\x1b\[\d+m/g, '').length;
}

/** A table: a header row and rows, columns padded; numbers right-aligned. */
export function table(out: Output, header: string[], rows: (string | number)[][]): void {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = header.map((title, index) => Math.max(title.length, ...cells.map((row) => width(row[index] ?? ''))));
  const pad = (text: string, index: number, right: boolean): string => {
    const fill = ' '.repeat(widths[index] - width(text));
    return right ? fill + text : text + fill;
  };
  out.line(paint(out, 'bold', header.map((title, index) => pad(title, index, false)).join('  ').trimEnd()));
  rows.forEach((row, r) => out.line(cells[r].map((text, index) => pad(text, index, typeof row[index] === 'number')).join('  ').trimEnd()));
  if (rows.length === 0) out.line(paint(out, 'dim', '(none)'));
}

/** `12.3 s`, `4 min`, `2.1 h` for a duration in seconds. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 3600) return `${Math.round(seconds / 6) / 10} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 8640) / 10} d`;
}

/** An epoch-seconds or epoch-ms time as ISO text (UTC). */
export function isoTime(value: number | Date | undefined | null, unit: 's' | 'ms' = 's'): string {
  if (value === undefined || value === null) return '-';
  const ms = value instanceof Date ? value.getTime() : unit === 's' ? value * 1000 : value;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Text cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
