import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LUA_CONSTANTS, loadScripts, withIncludes } from '../../lib/engine/redis/scripts';

function luaDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'verk-lua-'));
  mkdirSync(join(dir, 'includes'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('@include is expanded recursively, each include pasted once, before its first use', () => {
  const dir = luaDir({
    'includes/a.lua': 'local function a() return 1 end',
    'includes/b.lua': '--- @include "includes/a"\nlocal function b() return a() + 1 end',
    'includes/c.lua': '--- @include "includes/a"\nlocal function c() return a() + 2 end',
  });
  try {
    const lua = withIncludes('--- @include "includes/b"\n--- @include "includes/c"\n--- @include "includes/a"\nreturn b() + c()', dir, 'script.lua');
    assert.equal(lua.match(/local function a\(\)/g)?.length, 1, 'a pasted once');
    assert.ok(lua.indexOf('local function a()') < lua.indexOf('local function b()'), 'a before b, which calls it');
    assert.ok(lua.indexOf('local function b()') < lua.indexOf('local function c()'));
    assert.doesNotMatch(lua, /^--- @include/m, 'no include line left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('@include takes a path below includes/ (lua/includes/<area>/<name>), and such an include can include others', () => {
  const dir = luaDir({ 'includes/a.lua': 'local function a() return 1 end' });
  mkdirSync(join(dir, 'includes', 'area'));
  writeFileSync(join(dir, 'includes', 'area', 'd.lua'), '--- @include "includes/a"\nlocal function d() return a() + 3 end');
  try {
    const lua = withIncludes('--- @include "includes/area/d"\nreturn d()', dir, 'script.lua');
    assert.ok(lua.indexOf('local function a()') >= 0 && lua.indexOf('local function a()') < lua.indexOf('local function d()'), lua);
    assert.doesNotMatch(lua, /^--- @include/m, 'no include line left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('@include refuses a cycle and a missing file, naming them', () => {
  const dir = luaDir({ 'includes/x.lua': '--- @include "includes/y"', 'includes/y.lua': '--- @include "includes/x"' });
  try {
    assert.throws(() => withIncludes('--- @include "includes/x"', dir, 's.lua'), /s\.lua includes itself through s\.lua -> includes\/x -> includes\/y -> includes\/x/);
    assert.throws(() => withIncludes('--- @include "includes/nope"', dir, 's.lua'), /includes includes\/nope, which does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every script of lua/ loads with its includes expanded and no helper defined twice', () => {
  const scripts = loadScripts();
  assert.ok(scripts.length >= 20);
  for (const script of scripts) {
    assert.doesNotMatch(script.lua, /^--- @include/m, `${script.command} keeps an include line`);
    const defined = [...script.lua.matchAll(/^local function (\w+)/gm)].map(([, name]) => name);
    assert.equal(new Set(defined).size, defined.length, `${script.command} defines a function twice: ${defined.join(', ')}`);
  }
});

test('numbers shared by TypeScript and Lua are defined once, in TypeScript, and reach the scripts that use them', () => {
  const scripts = loadScripts();
  const users = scripts.filter((script) => /\bPRIORITY_SCORE_STEP\b/.test(script.lua.replace(/^local PRIORITY_SCORE_STEP = .*$/m, '')));
  assert.ok(users.length >= 4, `scripts using the priority step: ${users.map((s) => s.command).join(', ')}`);
  for (const script of users) assert.match(script.lua, new RegExp(`^local PRIORITY_SCORE_STEP = ${LUA_CONSTANTS.PRIORITY_SCORE_STEP}$`, 'm'), script.command);
  assert.equal(LUA_CONSTANTS.PRIORITY_SCORE_STEP, 2 ** 42);
  for (const script of scripts) assert.doesNotMatch(script.lua.replace(/^local \w+ = .*$/gm, ''), /4398046511104/, `${script.command} repeats the step as a literal`);
});
