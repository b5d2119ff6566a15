import { Html, html } from './html';

/** 1234567 -> "1,234,567" (the same separators in every locale, so tests and screenshots agree). */
export function num(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–';
}

/** "3 min ago" / "in 2 h" from an epoch-ms time. */
export function relative(ms: number, now = Date.now()): string {
  const diff = Math.round((ms - now) / 1000);
  const abs = Math.abs(diff);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min` : abs < 86_400 ? `${Math.floor(abs / 3600)} h` : `${Math.floor(abs / 86_400)} d`;
  if (abs < 2) return 'now';
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

/** A <time> with the relative time as text and the absolute one on hover (the script keeps the text fresh). */
export function time(ms: number | undefined | null): Html {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return html`<span class="muted">–</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}">${relative(ms)}</time>`;
}

/** Epoch seconds (Sidekiq's payload times) to a <time>. */
export function timeSeconds(seconds: unknown): Html {
  return typeof seconds === 'number' ? time(seconds * 1000) : time(undefined);
}

/** JSON text of a value, shortened for a table cell. */
export function short(value: unknown, max = 120): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
