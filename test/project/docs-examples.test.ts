import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { documentationFiles } from '../helpers/docs';

const root = join(__dirname, '..', '..', '..');

interface Example {
  /** The file it is written to: its `// name.ts` first line, else a name of its own. */
  name: string;
  code: string;
  from: string;
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const file of documentationFiles()) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, code] of text.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
      const name = /^\/\/ ([\w.-]+\.ts)\n/.exec(code)?.[1] ?? `example-${found.length}.ts`;
      found.push({ name, code, from: file });
    }
  }
  return found;
}

test('every TypeScript example in README.md and docs/ compiles against the public API', () => {
  const blocks = examples();
  // As many as the pages had when they were split out of the README (23): a page that
  // loses its examples, or a fence the pattern above no longer sees, fails here.
  assert.ok(blocks.length >= 23, `found ${blocks.length} examples`);
  for (const file of ['README.md', 'docs/getting-started.md', 'docs/engine.md']) {
    assert.ok(blocks.some((block) => block.from === file), `${file} has a compiled example`);
  }
  // Examples may import each other ('./charge-card.worker'), so names are unique across pages.
  const seen = new Map<string, string>();
  for (const { name, from } of blocks) {
    assert.equal(seen.get(name), undefined, `example ${name} in ${from} has the name of one in ${seen.get(name) ?? ''}`);
    seen.set(name, from);
  }
  // Inside the project, so node_modules resolve; removed afterwards.
  const dir = mkdtempSync(join(root, '.readme-examples-'));
  try {
    for (const { name, code } of blocks) writeFileSync(join(dir, name), code);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        // 'paths' comes from ../tsconfig.json, resolved against that file (no baseUrl: TypeScript 7 removed it).
        compilerOptions: { noEmit: true, rootDir: '..' },
        include: ['*.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (error) {
      assert.fail(`documentation examples do not compile:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the examples of the engine import it from its subpath, nestjs-verk/engine', () => {
  const engine = examples().filter(({ code }) => /\bVerkEngine\b/.test(code));
  assert.ok(engine.length >= 2, `found ${engine.length} engine examples`);
  for (const { name, code } of engine) assert.match(code, /from 'nestjs-verk\/engine'/, `${name} imports the engine from its subpath`);
});
