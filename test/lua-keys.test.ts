import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

/*
 * On a Redis Cluster a script may touch only keys it was given in KEYS (Redis routes it by
 * them, and every key of an instance is in the one slot of the prefix's hash tag). This
 * reads every script and include: the key (or channel) argument of every redis.call /
 * redis.pcall is KEYS[...] or a name bound to one, never built from ARGV, a literal, or a
 * concatenation.
 */

const lua = resolve(__dirname, '..', '..', 'lua');

function luaFiles(): { file: string; text: string }[] {
  return readdirSync(lua, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((folder) => readdirSync(join(lua, folder.name)).filter((file) => file.endsWith('.lua')).map((file) => `${folder.name}/${file}`))
    .map((file) => ({ file, text: readFileSync(join(lua, file), 'utf8') }));
}

/** The first argument after the command name of each redis.call / redis.pcall, with the command. */
function keyArguments(text: string): { command: string; key: string }[] {
  const found: { command: string; key: string }[] = [];
  for (const match of text.matchAll(/redis\.p?call\(\s*'([A-Za-z]+)'\s*(?:,\s*([^,)]+))?/g)) {
    if (match[2] !== undefined) found.push({ command: match[1].toUpperCase(), key: match[2].trim() });
  }
  return found;
}

test('every key a Lua script touches comes from KEYS (never built from ARGV, a literal or a concatenation)', () => {
  const files = luaFiles();
  assert.ok(files.length > 30, 'the scripts were found');
  let checked = 0;
  for (const { file, text } of files) {
    for (const { command, key } of keyArguments(text)) {
      checked++;
      assert.doesNotMatch(key, /ARGV|\.\.|['"]/, `lua/${file}: ${command} ${key} builds its key`);
      assert.match(key, /^(KEYS\[.+\]|[A-Za-z_][\w]*(\.[A-Za-z_]\w*)?)$/, `lua/${file}: ${command} ${key} is KEYS[...] or a name`);
      if (key.startsWith('KEYS[')) continue;
      // A name: where the script binds it, it must not come from ARGV.
      const name = key.split('.')[0];
      for (const binding of text.matchAll(new RegExp(`local\\s+[\\w\\s,]*\\b${name}\\b[\\w\\s,]*=\\s*([^\\n]+)`, 'g'))) {
        assert.doesNotMatch(binding[1], /ARGV/, `lua/${file}: ${name} (the key of ${command}) is bound from ARGV`);
      }
    }
  }
  assert.ok(checked > 150, `${checked} calls checked`);
});
