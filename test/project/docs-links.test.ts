import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { anchors, documentationFiles, links, prose } from '../helpers/docs';

const root = join(__dirname, '..', '..', '..');

test('README.md is a door: at most 300 lines, opening with the two commands of this repository', () => {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n');
  assert.ok(lines.length <= 300, `README.md has ${lines.length} lines`);
  assert.equal(lines[0], '# nestjs-verk');
  const fence = lines.findIndex((line) => line.startsWith('```'));
  assert.ok(fence > 0 && lines.slice(1, fence).every((line) => line.trim() === ''), 'the first thing after the title is a code block');
  assert.match(lines[fence + 1] ?? '', /^npm install && npm start\b/);
  assert.match(lines[fence + 2] ?? '', /^npm install && npm test\b/);
});

test('docs/README.md indexes every page of docs/, and README.md links it', () => {
  const pages = documentationFiles().filter((file) => file.startsWith('docs/') && file !== 'docs/README.md');
  const index = readFileSync(join(root, 'docs', 'README.md'), 'utf8');
  const indexed = new Set(links(index).map(({ target }) => target.split('#')[0]));
  for (const page of pages) assert.ok(indexed.has(relative('docs', page)), `docs/README.md does not link ${page}`);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.ok(links(readme).some(({ target }) => target === 'docs/README.md'), 'README.md links the docs index');
});

test('every relative link in README.md and docs/ points to an existing file and heading', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const file of documentationFiles()) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const { target, line } of links(text)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = path === '' ? join(root, file) : join(root, dirname(file), decodeURIComponent(path));
      if (!existsSync(resolved)) {
        problems.push(`${file}:${line}: ${target}: no such file`);
        continue;
      }
      if (anchor !== undefined) {
        if (!statSync(resolved).isFile() || !resolved.endsWith('.md')) problems.push(`${file}:${line}: ${target}: an anchor into a file that is not markdown`);
        else if (!anchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) problems.push(`${file}:${line}: ${target}: no heading #${anchor}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(checked >= 50, `checked ${checked} links`);
});

test('no run of 8 words appears twice in one paragraph (the garble a bad merge leaves)', () => {
  const problems: string[] = [];
  for (const file of documentationFiles()) {
    // A table row stands alone: rows of one table may well say alike things.
    const text = prose(readFileSync(join(root, file), 'utf8')).replace(/^(\|.*)$/gm, '\n$1\n');
    for (const paragraph of text.split(/\n\s*\n/)) {
      const words = paragraph.split(/\s+/).filter((word) => word !== '' && word !== '|' && !/^-+$/.test(word));
      const seen = new Set<string>();
      for (let i = 0; i + 8 <= words.length; i++) {
        const run = words.slice(i, i + 8).join(' ');
        if (seen.has(run)) {
          problems.push(`${file}: "${run}"`);
          break;
        }
        seen.add(run);
      }
    }
  }
  assert.deepEqual(problems, []);
});
