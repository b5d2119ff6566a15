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

const lua = resolve(__dirname, '..', '..', '..', 'lua');

function luaFiles(): { file: string; text: string }[] {
  // Every .lua below lua/, at any depth: includes/ has subfolders (limits, stats, flow).
  const below = (folder: string): string[] =>
    readdirSync(join(lua, folder), { withFileTypes: true }).flatMap((entry) => {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) return below(path);
      return entry.name.endsWith('.lua') ? [path] : [];
    });
  return below('').map((file) => ({ file, text: readFileSync(join(lua, file), 'utf8') }));
}

/** The first argument after the command name of each redis.call / redis.pcall, with the command. */
function keyArguments(text: string): { command: string; key: string }[] {
  const found: { command: string; key: string }[] = [];
  // PUBLISH_COMMAND: PUBLISH or SPUBLISH (lib/engine/redis/scripts.ts); its channel is checked like a key.
  for (const match of text.matchAll(/redis\.p?call\(\s*(?:'([A-Za-z]+)'|(PUBLISH_COMMAND))\s*(?:,\s*([^,)]+))?/g)) {
    if (match[3] !== undefined) found.push({ command: (match[1] ?? match[2]).toUpperCase(), key: match[3].trim() });
  }
  return found;
}

test('every key a Lua script touches comes from KEYS (never built from ARGV, a literal or a concatenation)', () => {
  const files = luaFiles();
  assert.ok(files.length > 30, 'the scripts were found');
  // The includes in subfolders are read too (a one-level listing would skip them silently).
  assert.ok(files.some(({ file }) => file === 'includes/limits/releaseHeld.lua'), 'the includes of lua/includes/<area>/ were found');
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

test('scripts publish through PUBLISH_COMMAND (PUBLISH on one Redis, SPUBLISH on a cluster), never a fixed command', () => {
  for (const { file, text } of luaFiles()) {
    assert.doesNotMatch(text, /redis\.p?call\(\s*'S?PUBLISH'/i, `lua/${file} publishes with a fixed command; use PUBLISH_COMMAND (lib/engine/redis/scripts.ts)`);
  }
});
