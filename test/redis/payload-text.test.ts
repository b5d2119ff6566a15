import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldText, isJsonObjectText, scanObject, spliceFields } from '../../lib/engine/core/payload-text';
import { PayloadTextError } from '../../lib/engine/errors';

/** What JSON.parse says about a text: a plain object or not. */
function parsesToObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

test('set replaces a field in place and leaves every other byte as it was', () => {
  const text = '{ "class" : "W",\n\t"args":[9007199254740993, 12345678901234567891, 1.0, 0.1, -0.0, 1.5e300],"enqueued_at":1.0 ,"x":"\\u2028\\""}';
  const out = spliceFields(text, { enqueued_at: 1700000000.5 });
  assert.equal(out, '{ "class" : "W",\n\t"args":[9007199254740993, 12345678901234567891, 1.0, 0.1, -0.0, 1.5e300],"enqueued_at":1700000000.5 ,"x":"\\u2028\\""}');
});

test('a new field is appended after the last member, before trailing white space', () => {
  assert.equal(spliceFields('{"a":1.0}', { b: 'x' }), '{"a":1.0,"b":"x"}');
  assert.equal(spliceFields('{"a":1.0 }\n', { b: 2, c: [1, { d: null }] }), '{"a":1.0,"b":2,"c":[1,{"d":null}] }\n');
  assert.equal(spliceFields('{}', { a: 1 }), '{"a":1}');
  assert.equal(spliceFields('  { \n }  ', { a: 1 }), '  { \n "a":1}  ');
  assert.equal(spliceFields('{"a":1}', { 'we"ird\u2028': 'é' }), '{"a":1,"we\\"ird\u2028":"é"}');
});

test('removing a field takes its separator with it and keeps the others as written', () => {
  assert.equal(spliceFields('{"a":1.0, "b":2 , "c":3}', { b: undefined }), '{"a":1.0 , "c":3}');
  assert.equal(spliceFields('{ "a":1.0, "b":2}', { a: undefined }), '{ "b":2}');
  assert.equal(spliceFields('{"a":1.0, "b":2 }', { b: undefined }), '{"a":1.0 }');
  assert.equal(spliceFields('{ "a":1 }', { a: undefined }), '{  }');
  assert.equal(spliceFields('{"a":1,"b":2,"c":3}', { a: undefined, b: undefined }), '{"c":3}');
  assert.equal(spliceFields('{"a":1,"b":2,"c":3}', { b: undefined, c: undefined }), '{"a":1}');
  assert.equal(spliceFields('{"a":1,"b":2,"c":3}', { a: undefined, c: undefined, d: 4 }), '{"b":2,"d":4}');
  assert.equal(spliceFields('{"a":1}', { zzz: undefined }), '{"a":1}', 'removing an absent field changes nothing');
});

test('only top-level keys count: nested objects and strings holding the same name are untouched', () => {
  const text = '{"args":[{"priority":1,"queue":"inner"}],"meta":{"queue":"nested","x":{"queue":1}},"note":"\\"queue\\": \\"fake\\" }","queue":"real"}';
  const out = spliceFields(text, { queue: 'moved', priority: 5 });
  assert.equal(out, '{"args":[{"priority":1,"queue":"inner"}],"meta":{"queue":"nested","x":{"queue":1}},"note":"\\"queue\\": \\"fake\\" }","queue":"moved","priority":5}');
  assert.equal(fieldText(text, 'queue'), '"real"');
  assert.equal(fieldText(text, 'priority'), undefined);
});

test('keys with escapes are matched by their decoded name', () => {
  assert.equal(spliceFields('{"a\\"b":1,"\\u0071ueue":"x"}', { 'a"b': 2, queue: 'y' }), '{"a\\"b":2,"\\u0071ueue":"y"}');
  assert.equal(fieldText('{"\\u00e9":1.50}', 'é'), '1.50');
});

test('duplicate keys: set replaces every occurrence, remove removes them all, fieldText reads the last', () => {
  const text = '{"a":1,"b":2,"a":3}';
  assert.equal(fieldText(text, 'a'), '3');
  assert.equal(spliceFields(text, { a: 9 }), '{"a":9,"b":2,"a":9}');
  assert.equal(spliceFields(text, { a: undefined }), '{"b":2}');
  assert.deepEqual(JSON.parse(spliceFields(text, { a: 9 })), { a: 9, b: 2 });
});

test('values written by the splice are JSON.stringify of the new value alone', () => {
  const out = spliceFields('{"a":1}', { s: 'line\u2028sep "q" \\ é \u0001', n: -0, big: 1e21, arr: [1.5, 'x'], nil: null, t: true });
  assert.equal(out, '{"a":1,"s":"line\u2028sep \\"q\\" \\\\ é \\u0001","n":0,"big":1e+21,"arr":[1.5,"x"],"nil":null,"t":true}');
  assert.deepEqual(JSON.parse(out), { a: 1, s: 'line\u2028sep "q" \\ é \u0001', n: 0, big: 1e21, arr: [1.5, 'x'], nil: null, t: true });
  assert.throws(() => spliceFields('{}', { f: () => 1 }), TypeError);
});

test('text that is not exactly one JSON object is rejected', () => {
  const bad = [
    '', ' ', 'null', '[]', '[{"a":1}]', '"{}"', '1', '{', '}', '{"a"}', '{"a":}', '{"a":1,}', '{,"a":1}', '{"a":1}}', '{"a":1} x', '{"a":1}{}',
    "{'a':1}", '{a:1}', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":1e}', '{"a":NaN}', '{"a":Infinity}', '{"a":tru}', '{"a":truex}',
    '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":"\\u12g4"}', '{"a":"tab\there"}', '{"a":"nl\nx"}', '{"a":"unterminated}', '{"a":[1,2}', '{"a":[1,]}', '{"a":{"b":1]}',
    '{"a":{"b"}}', '{"a":{"b":1,}}', '\uFEFF{"a":1}', '{"a":1\u00a0}', '{"a" 1}', '{"a":1 "b":2}', '{"a":[1 2]}',
  ];
  for (const text of bad) {
    assert.equal(parsesToObject(text), false, `JSON.parse agrees ${JSON.stringify(text)} is not an object`);
    assert.equal(isJsonObjectText(text), false, JSON.stringify(text));
    assert.throws(() => spliceFields(text, { a: 1 }), PayloadTextError, JSON.stringify(text));
  }
  const good = ['{}', ' {\r\n\t} ', '{"a":[]}', '{"a":{}}', '{"a":[[],{}]}', '{"":0}', '{"a":-0.0e-0}', '{"a":"\\/\\b\\f\\n\\r\\t\\u00Ff"}', '{"a":"\ud83d\ude00"}'];
  for (const text of good) {
    assert.equal(parsesToObject(text), true, text);
    assert.equal(isJsonObjectText(text), true, text);
  }
});

test('deeply nested values are scanned without overflowing the stack', () => {
  const depth = 200_000;
  const text = `{"a":${'['.repeat(depth)}${']'.repeat(depth)},"b":1}`;
  const out = spliceFields(text, { b: 2 });
  assert.equal(out.length, text.length);
  assert.ok(out.endsWith(']],"b":2}'), out.slice(-20));
  assert.equal(isJsonObjectText(`{"a":${'['.repeat(depth)}${']'.repeat(depth - 1)}}`), false);
});

/** A small deterministic random source, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

test('random objects: the splice agrees with JSON semantics and keeps every untouched member byte for byte', () => {
  const next = random(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const names = ['a', 'b', 'queue', 'enqueued_at', 'x"y', 'é', '\u2028', 'retry_count'];
  const scalars = ['1.0', '-0.0', '9007199254740993', '1.5e300', '0.1', '"s}\\"{,:"', 'true', 'null', '"\\u2028"', '"é"'];
  const ws = ['', ' ', '\n', '\t ', '\r\n'];
  const value = (depth: number): string => {
    const kind = depth > 2 ? 0 : Math.floor(next() * 3);
    if (kind === 0) return pick(scalars);
    if (kind === 1) return `[${Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1)).join(`,${pick(ws)}`)}]`;
    return `{${Array.from({ length: Math.floor(next() * 3) }, () => `${JSON.stringify(pick(names))}:${value(depth + 1)}`).join(',')}}`;
  };
  for (let round = 0; round < 500; round++) {
    const used = new Set<string>();
    const parts: string[] = [];
    for (let i = Math.floor(next() * 6); i > 0; i--) {
      const name = pick(names);
      if (used.has(name)) continue; // duplicates have their own test
      used.add(name);
      parts.push(`${pick(ws)}${JSON.stringify(name)}${pick(ws)}:${pick(ws)}${value(0)}${pick(ws)}`);
    }
    const text = `${pick(ws)}{${parts.join(',')}}${pick(ws)}`;
    const changes: Record<string, unknown> = {};
    for (let i = Math.floor(next() * 4); i > 0; i--) changes[pick(names)] = next() < 0.4 ? undefined : pick([1, 'v', { n: [1.5] }, null]);
    const out = spliceFields(text, changes);
    const expected = JSON.parse(text) as Record<string, unknown>;
    for (const [name, v] of Object.entries(changes)) {
      if (v === undefined) delete expected[name];
      else expected[name] = JSON.parse(JSON.stringify(v));
    }
    assert.deepEqual(JSON.parse(out), expected, `${text} with ${JSON.stringify(changes)}`);
    const before = scanObject(text);
    for (const member of before.members) {
      if (member.name in changes) continue;
      assert.equal(fieldText(out, member.name), text.slice(member.valueStart, member.valueEnd), `${member.name} kept in ${out}`);
    }
  }
});
