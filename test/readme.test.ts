import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..', '..');

test('every TypeScript example in the README compiles against the public API', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  assert.ok(blocks.length >= 6, `found ${blocks.length} examples`);
  // Inside the project, so node_modules resolve; removed afterwards.
  const dir = mkdtempSync(join(root, '.readme-examples-'));
  try {
    const files = blocks.map((code, index) => {
      const name = /^\/\/ ([\w.-]+\.ts)\n/.exec(code)?.[1] ?? `example-${index}.ts`;
      writeFileSync(join(dir, name), code);
      return name;
    });
    assert.equal(new Set(files).size, files.length, 'example file names are unique');
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
      assert.fail(`README examples do not compile:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
