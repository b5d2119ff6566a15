import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { MAX_PRIORITY, MIN_PRIORITY, PRIORITY_SCORE_STEP } from '../core/priority';
import { VerkConfigError } from '../errors';

/**
 * The Lua scripts of lua/, one file each, named `<name>-<number of keys>.lua` (or
 * `<name>.lua` when the number of keys varies). They are read once and registered with
 * ioredis's defineCommand, which calls them by SHA (EVALSHA) and falls back to EVAL after
 * a Redis restart has flushed the script cache. They are called through VerkScripts
 * (verk-scripts.ts) alone, which builds their KEYS and ARGV.
 */
export interface ScriptSource {
  command: string;
  numberOfKeys?: number;
  lua: string;
  /**
   * For a script that publishes (wake-ups, tracked events): the same script publishing
   * with SPUBLISH (sharded pub/sub, Redis 7), defined as `<command>Sharded` and called in
   * cluster mode (see Keys.shardedPubSub).
   */
  sharded?: string;
}

/** The name a script's sharded pub/sub variant is defined as. */
export function shardedCommand(command: string): string {
  return `${command}Sharded`;
}

/**
 * Scripts publish with `redis.call(PUBLISH_COMMAND, channel, message)`: PUBLISH on a single
 * Redis, SPUBLISH on a cluster (a plain PUBLISH is forwarded to every node of a cluster;
 * a sharded one only to the nodes of the channel's slot, the instance's).
 */
function withPublishCommand(lua: string, command: 'PUBLISH' | 'SPUBLISH'): string {
  return `local PUBLISH_COMMAND = '${command}'\n${lua}`;
}

/** Finds lua/ from the source tree (lib/engine/redis) or the build (dist/lib/engine/redis). */
function luaDirectory(): string {
  for (const candidate of [resolve(__dirname, '../../../lua'), resolve(__dirname, '../../../../lua')]) {
    if (existsSync(join(candidate, 'includes'))) return candidate;
  }
  throw new VerkConfigError(`nestjs-verk: cannot find its lua/ scripts next to ${__dirname}; is the package installed completely?`);
}

/**
 * Replaces each `--- @include "includes/<name>"` line (BullMQ's convention) with the text
 * of lua/includes/<name>.lua (`<name>` may have a folder: `limits/groupOf`), so helpers
 * that several scripts need are written once. An
 * include may include others; each file is pasted once per script, at its first mention
 * (a Lua local function must be defined before the code that calls it), so two includes
 * sharing a helper do not define it twice.
 */
export function withIncludes(lua: string, dir: string, file: string, pasted: Set<string> = new Set(), chain: string[] = [file]): string {
  return lua.replace(/^--- @include "([A-Za-z/]+)"$/gm, (_line, name: string) => {
    if (chain.includes(name)) throw new VerkConfigError(`nestjs-verk: lua/${file} includes itself through ${[...chain, name].join(' -> ')}`);
    if (pasted.has(name)) return `-- (${name} is included above)`;
    pasted.add(name);
    const path = join(dir, `${name}.lua`);
    if (!existsSync(path)) throw new VerkConfigError(`nestjs-verk: lua/${file} includes ${name}, which does not exist`);
    return withIncludes(readFileSync(path, 'utf8').trimEnd(), dir, file, pasted, [...chain, name]);
  });
}

/**
 * Numbers the TypeScript and the Lua side must agree on, defined once here: a script that
 * names one gets `local NAME = value` prepended (see withConstants).
 */
export const LUA_CONSTANTS: Readonly<Record<string, number>> = { PRIORITY_SCORE_STEP, MIN_PRIORITY, MAX_PRIORITY };

/** Prepends a `local` for each shared constant the (expanded) script uses. */
export function withConstants(lua: string): string {
  const used = Object.entries(LUA_CONSTANTS).filter(([name]) => new RegExp(`\\b${name}\\b`).test(lua));
  return used.map(([name, value]) => `local ${name} = ${value}\n`).join('') + lua;
}

let cache: ScriptSource[] | undefined;

/** Reads every script once per process. */
export function loadScripts(): ScriptSource[] {
  if (cache) return cache;
  const dir = luaDirectory();
  // One folder per concern (core, flow, admin, history, recurring, limits); includes/ holds helpers.
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'includes')
    .flatMap((folder) => readdirSync(join(dir, folder.name)).filter((file) => file.endsWith('.lua')).map((file) => `${folder.name}/${file}`));
  cache = files.map((file) => {
    const match = /^[a-z]+\/([A-Za-z]+)(?:-(\d+))?\.lua$/.exec(file);
    if (!match) throw new VerkConfigError(`nestjs-verk: unexpected script name lua/${file}`);
    const [, name, keys] = match;
    const lua = withConstants(withIncludes(readFileSync(join(dir, file), 'utf8'), dir, file));
    const publishes = /\bPUBLISH_COMMAND\b/.test(lua);
    return {
      command: `verk${name[0].toUpperCase()}${name.slice(1)}`,
      numberOfKeys: keys === undefined ? undefined : Number(keys),
      lua: publishes ? withPublishCommand(lua, 'PUBLISH') : lua,
      sharded: publishes ? withPublishCommand(lua, 'SPUBLISH') : undefined,
    };
  });
  const commands = cache.map((script) => script.command);
  const twice = commands.find((command, index) => commands.indexOf(command) !== index);
  if (twice) throw new VerkConfigError(`nestjs-verk: two scripts in lua/ define ${twice}`);
  return cache;
}

/**
 * Registers the scripts as commands on a connection. Without their key count: VerkScripts
 * passes it with every call (one typed helper calls every script), and
 * test/redis/script-facade.test.ts checks that it matches the count in the file name.
 */
export function defineScripts(redis: Redis): void {
  for (const script of loadScripts()) {
    redis.defineCommand(script.command, { lua: script.lua });
    if (script.sharded) redis.defineCommand(shardedCommand(script.command), { lua: script.sharded });
  }
}

/** The commands that have a sharded pub/sub variant. */
export function publishingCommands(): Set<string> {
  return new Set(loadScripts().filter((script) => script.sharded).map((script) => script.command));
}
