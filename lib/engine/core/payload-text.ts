/**
 * String surgery on the top-level object of a stored JSON payload. A job may have been
 * written by another system (Ruby's Sidekiq writes integers above 2^53 and floats such as
 * `1.0`); JSON.parse + JSON.stringify would change those bytes, so a field that must
 * change is spliced into the original text and every other byte is left as it was.
 */
import { PayloadTextError } from '../errors';

/** One member of the top-level object: its decoded name and where it sits in the text. */
export interface TopLevelMember {
  name: string;
  /** Index of the opening quote of its key. */
  start: number;
  /** Index of the first character of its value. */
  valueStart: number;
  /** Index just after its value. */
  valueEnd: number;
}

/** The members of a JSON object text, in text order (duplicates included), and where its `}` is. */
export interface ScannedObject {
  members: TopLevelMember[];
  close: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX = /^[0-9a-fA-F]{4}$/;

/** A validating scanner over RFC 8259 JSON, the grammar JSON.parse accepts. */
class Scanner {
  pos = 0;

  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new PayloadTextError(message, this.pos);
  }

  ws(): void {
    const { text } = this;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      // space, tab, line feed, carriage return: JSON's only white space.
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else return;
    }
  }

  expect(char: string): void {
    if (this.text[this.pos] !== char) this.fail(`expected '${char}'`);
    this.pos++;
  }

  /** Skips a string token; the position must be at its opening quote. */
  string(): void {
    const { text } = this;
    if (text[this.pos] !== '"') this.fail('expected a string');
    this.pos++;
    for (;;) {
      if (this.pos >= text.length) this.fail('unterminated string');
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c === 0x5c) {
        const e = text[this.pos + 1];
        if (e === 'u') {
          if (!HEX.test(text.slice(this.pos + 2, this.pos + 6))) this.fail('bad \\u escape');
          this.pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.pos += 2;
        else this.fail('bad escape');
      } else this.pos++;
    }
  }

  /** Skips a string, number, true, false or null. */
  scalar(): void {
    const { text } = this;
    const c = text[this.pos];
    if (c === '"') return this.string();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, this.pos)) {
        this.pos += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = this.pos;
    if (!NUMBER.test(text)) this.fail('expected a JSON value');
    this.pos = NUMBER.lastIndex;
  }

  /** An object member's key and colon. */
  key(): void {
    this.ws();
    this.string();
    this.ws();
    this.expect(':');
  }

  /**
   * Skips any JSON value. Iterative (a stack of the closers still expected), so deeply
   * nested input cannot overflow the call stack.
   */
  value(): void {
    const { text } = this;
    const closers: string[] = [];
    for (;;) {
      this.ws();
      const c = text[this.pos];
      if (c === '{' || c === '[') {
        const closer = c === '{' ? '}' : ']';
        this.pos++;
        this.ws();
        if (text[this.pos] === closer) this.pos++;
        else {
          closers.push(closer);
          if (closer === '}') this.key();
          continue;
        }
      } else this.scalar();
      // After a value: close what ends here, or go on to the next element or member.
      for (;;) {
        if (closers.length === 0) return;
        this.ws();
        const top = closers[closers.length - 1];
        const d = text[this.pos];
        if (d === ',') {
          this.pos++;
          if (top === '}') this.key();
          break;
        }
        if (d !== top) this.fail(`expected ',' or '${top}'`);
        this.pos++;
        closers.pop();
      }
    }
  }
}

/**
 * Finds the members of the top-level object of a JSON text. Throws PayloadTextError when
 * the text is not exactly one JSON object (white space around it allowed).
 */
export function scanObject(text: string): ScannedObject {
  const scanner = new Scanner(text);
  scanner.ws();
  scanner.expect('{');
  scanner.ws();
  const members: TopLevelMember[] = [];
  let close: number;
  if (text[scanner.pos] === '}') close = scanner.pos;
  else {
    for (;;) {
      scanner.ws();
      const start = scanner.pos;
      scanner.string();
      // A validated string token: JSON.parse decodes it exactly.
      const name = JSON.parse(text.slice(start, scanner.pos)) as string;
      scanner.ws();
      scanner.expect(':');
      scanner.ws();
      const valueStart = scanner.pos;
      scanner.value();
      members.push({ name, start, valueStart, valueEnd: scanner.pos });
      scanner.ws();
      if (text[scanner.pos] === ',') {
        scanner.pos++;
        continue;
      }
      if (text[scanner.pos] !== '}') scanner.fail("expected ',' or '}'");
      close = scanner.pos;
      break;
    }
  }
  scanner.pos = close + 1;
  scanner.ws();
  if (scanner.pos !== text.length) scanner.fail('unexpected text after the object');
  return { members, close };
}

/** True when the text is exactly one JSON object. */
export function isJsonObjectText(text: string): boolean {
  try {
    scanObject(text);
    return true;
  } catch (error) {
    if (error instanceof PayloadTextError) return false;
    throw error;
  }
}

/**
 * The text of a top-level field's value exactly as stored, or undefined when absent.
 * With duplicate keys, the last one (the one JSON.parse keeps).
 */
export function fieldText(text: string, name: string): string | undefined {
  const { members } = scanObject(text);
  for (let i = members.length - 1; i >= 0; i--) {
    if (members[i].name === name) return text.slice(members[i].valueStart, members[i].valueEnd);
  }
  return undefined;
}

/**
 * Returns the JSON object text with top-level fields set or removed and every other byte
 * unchanged. `changes` maps a field name to its new value (written with JSON.stringify of
 * that value alone) or to `undefined` to remove the field, as JSON.stringify drops it. A
 * field present in the text is replaced where it is (every occurrence, when the key is
 * duplicated, so every reader sees the new value); a new one is appended at the end,
 * in the order of `changes`. Throws PayloadTextError when the text is not a JSON object,
 * TypeError when a value cannot be written as JSON.
 */
export function spliceFields(text: string, changes: Readonly<Record<string, unknown>>): string {
  const encoded = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) {
      encoded.set(name, undefined);
      continue;
    }
    const json = JSON.stringify(value) as string | undefined;
    if (json === undefined) throw new TypeError(`field "${name}" cannot be written as JSON (${typeof value})`);
    encoded.set(name, json);
  }
  const { members, close } = scanObject(text);
  const found = new Set<string>();
  let out = text.slice(0, members.length > 0 ? members[0].start : close);
  let kept = 0;
  for (let i = 0; i < members.length; i++) {
    const member = members[i];
    const changed = encoded.has(member.name);
    const value = encoded.get(member.name);
    if (changed) found.add(member.name);
    if (changed && value === undefined) continue;
    // The separator (comma and white space) that stood before it in the original.
    if (kept > 0) out += text.slice(members[i - 1].valueEnd, member.start);
    out += changed ? text.slice(member.start, member.valueStart) + value : text.slice(member.start, member.valueEnd);
    kept++;
  }
  for (const [name, value] of encoded) {
    if (value === undefined || found.has(name)) continue;
    out += `${kept > 0 ? ',' : ''}${JSON.stringify(name)}:${value}`;
    kept++;
  }
  return out + text.slice(members.length > 0 ? members[members.length - 1].valueEnd : close);
}
