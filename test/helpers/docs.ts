import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Reading README.md and docs/*.md: which files, their prose, headings and links. */
const root = join(__dirname, '..', '..', '..');

/** README.md and every page of docs/, as paths relative to the repository. */
export function documentationFiles(): string[] {
  const pages = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).sort();
  return ['README.md', ...pages.map((name) => `docs/${name}`)];
}

/** The text outside fenced code blocks, lines kept in place (fenced lines blanked). */
export function prose(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'; repeats get -1, -2, ... */
export function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const counts = new Map<string, number>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const plain = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = plain.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    found.add(seen === 0 ? base : `${base}-${seen}`);
  }
  return found;
}

/** Every [text](target) outside code, with its line; inline code spans are left out. */
export function links(text: string): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  prose(text)
    .split('\n')
    .forEach((line, index) => {
      for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) found.push({ target, line: index + 1 });
    });
  return found;
}
