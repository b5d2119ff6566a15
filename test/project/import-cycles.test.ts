import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/** The compiled library (dist/lib): what actually loads at run time, type-only imports gone. */
const libRoot = resolve(__dirname, '..', '..', 'lib');

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

/** The library files a compiled module requires (relative requires only). */
function localRequires(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)].map(([, spec]) => {
    const target = resolve(dirname(file), spec);
    for (const candidate of [`${target}.js`, join(target, 'index.js')]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // try the next form
      }
    }
    throw new Error(`${relative(libRoot, file)} requires ${spec}, which is not in the build`);
  });
}

/** Every cycle found by a depth-first walk, each as the chain of files that closes it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

test('the library has no import cycles (compiled output, type-only imports excluded)', () => {
  const files = jsFiles(libRoot);
  assert.ok(files.length > 20, `found ${files.length} compiled files under ${libRoot}`);
  const cycles = findCycles(new Map(files.map((file) => [file, localRequires(file)])));
  assert.deepEqual(cycles.map((cycle) => cycle.map((path) => relative(libRoot, path)).join(' -> ')), [], 'import cycles');
});

test('the cycle finder reports a cycle and passes an acyclic graph (self-check)', () => {
  // Guards the test above against passing because the walk never looks.
  const cyclic = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
  assert.deepEqual(findCycles(cyclic), [['a', 'b', 'c', 'a']]);
  const acyclic = new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]);
  assert.deepEqual(findCycles(acyclic), []);
});
