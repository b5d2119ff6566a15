import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { useRedis } from '../helpers/engine';

/**
 * lua/includes/setJsonFields: top-level fields set in a JSON object's text by string
 * surgery, run in a real Redis (the scripts that send a job to dead with an error of ours
 * splice it in this way; cjson would re-encode the whole payload).
 */

const ctx = useRedis();

const include = readFileSync(resolve(__dirname, '../../../lua/includes/setJsonFields.lua'), 'utf8');
const script = `${include}
local fields = {}
for i = 2, #ARGV, 2 do fields[#fields + 1] = { ARGV[i], ARGV[i + 1] } end
local result = setJsonFields(ARGV[1], fields)
if result == nil then return false end
return result`;

/** Sets `fields` (name -> the value's JSON text) in `text`; null when it is not a JSON object. */
async function setFields(text: string, fields: Record<string, string>): Promise<string | null> {
  const reply = await ctx.redis.eval(script, 0, text, ...Object.entries(fields).flat());
  return reply === null ? null : String(reply);
}

test('an existing top-level key gets its new value; the same key in nested objects and arrays is not touched', async () => {
  const text = '{"a":{"error_class":"x","deep":{"error_class":[1,{"error_class":2}]}},"error_class":"Old","b":[{"error_class":1}],"c":"error_class"}';
  assert.equal(
    await setFields(text, { error_class: '"New"' }),
    '{"a":{"error_class":"x","deep":{"error_class":[1,{"error_class":2}]}},"error_class":"New","b":[{"error_class":1}],"c":"error_class"}',
  );
});

test('a missing key is appended before the closing brace, in order; an empty object gets no comma', async () => {
  assert.equal(await setFields('{"n":1}', { x: '"a"', y: '2' }), '{"n":1,"x":"a","y":2}');
  assert.equal(await setFields('{}', { x: 'true' }), '{"x":true}');
  assert.equal(await setFields('{ }', { x: 'null' }), '{ "x":null}');
});

test('escaped quotes and backslashes inside strings do not end them', async () => {
  const text = String.raw`{"msg":"he said \"error_class\": \"x\", then \\","path":"C:\\dir\\","error_class":"E"}`;
  assert.equal(await setFields(text, { error_class: '"F"', n: '1' }), String.raw`{"msg":"he said \"error_class\": \"x\", then \\","path":"C:\\dir\\","error_class":"F","n":1}`);
  const keyInString = String.raw`{"s":"\"retry_count\":5,","retry_count":1}`;
  assert.equal(await setFields(keyInString, { retry_count: '2' }), String.raw`{"s":"\"retry_count\":5,","retry_count":2}`);
});

test('unicode (raw UTF-8 and \\u escapes) is kept byte for byte', async () => {
  const text = '{"name":"émails ☃ 日本","sep":"\\u2028\\ud83d\\ude00","emoji":"😀"}';
  const result = await setFields(text, { error_message: JSON.stringify('lost ☃') });
  assert.equal(result, '{"name":"émails ☃ 日本","sep":"\\u2028\\ud83d\\ude00","emoji":"😀","error_message":"lost ☃"}');
  assert.equal((JSON.parse(result ?? '') as { sep: string }).sep, '\u2028\u{1F600}');
});

test('big integers, 1.0, -0.0 and exponents keep their text; only the named field changes', async () => {
  const text = '{"args":[9007199254740993,12345678901234567891,1.0,0.1,-0.0,1.5e300],"retry_count":1,"at":1700000000.123456789}';
  assert.equal(
    await setFields(text, { retry_count: '2', failed_at: '1700000001.5' }),
    '{"args":[9007199254740993,12345678901234567891,1.0,0.1,-0.0,1.5e300],"retry_count":2,"at":1700000000.123456789,"failed_at":1700000001.5}',
  );
});

test('white space and odd key order are kept; every occurrence of a duplicate key is set; an escaped key name matches', async () => {
  const text = '  {\n  "z" : 1 ,\n  "error_class" : "A",\n  "a":[ ],\n  "error_class":"B"\n}\n';
  assert.equal(await setFields(text, { error_class: '"C"' }), '  {\n  "z" : 1 ,\n  "error_class" : "C",\n  "a":[ ],\n  "error_class":"C"\n}\n');
  assert.equal(await setFields('{"error\\u005fclass":"x","k":2}', { error_class: '"y"' }), '{"error\\u005fclass":"y","k":2}');
});

test('a value replaced in the middle or at the end, whatever its type', async () => {
  const text = '{"a":{"x":[1,2,{"y":"}"}]},"b":"]","c":[[]],"d":false}';
  assert.equal(await setFields(text, { a: '0', c: '"s"', d: 'true' }), '{"a":0,"b":"]","c":"s","d":true}');
});

test('a text that is not a JSON object gives nil', async () => {
  for (const text of ['[1,2]', '"text"', '42', '', '{"a":}', '{"a":1', '{"a" 1}', '{"a":1,}', 'not json', '{"a":"unterminated}']) {
    assert.equal(await setFields(text, { x: '1' }), null, text);
  }
});
