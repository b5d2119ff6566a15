import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Redis, Result } from 'ioredis';
import { MAX_PRIORITY, MIN_PRIORITY, PRIORITY_SCORE_STEP } from '../core/priority';
import { VerkConfigError } from '../errors';

/**
 * The Lua scripts of lua/, one file each, named `<name>-<number of keys>.lua` (or
 * `<name>.lua` when the caller passes the key count). They are read once and
 * registered with ioredis's defineCommand, which calls them by SHA (EVALSHA) and
 * falls back to EVAL after a Redis restart has flushed the script cache.
 */
declare module 'ioredis' {
  interface RedisCommander<Context> {
    verkFetchJobs(queue: string, inProgress: string, nodes: string, nodeQueues: string, paused: string, prioritized: string, count: number, nodeId: string, queueName: string): Result<string[] | null, Context>;
    verkFinishJobs(inProgress: string, processed: string, processedDay: string, queueProcessed: string, queueProcessedDay: string, ...jobs: string[]): Result<number, Context>;
    /** `flowLossKeys`: Keys.flowLossKeys (dead is trimmed). Returns 1 moved, 2 sent to dead because `retry` refused it, 0 not in in-progress. */
    verkFailJob(inProgress: string, target: string, dead: string, failed: string, failedDay: string, queueFailed: string, queueFailedDay: string, ...flowLossKeysAndArgs: (string | number)[]): Result<number, Context>;
    verkEnqueueDue(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
    verkRequeueInProgress(inProgress: string, queue: string, prioritized: string, wake: string, dead: string, queueName: string): Result<number, Context>;
  }
}

export interface ScriptSource {
  command: string;
  numberOfKeys?: number;
  lua: string;
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
 * of lua/includes/<name>.lua, so helpers that several scripts need are written once. An
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
  // One folder per concern (core, flow, admin, history, recurring); includes/ holds helpers.
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'includes')
    .flatMap((folder) => readdirSync(join(dir, folder.name)).filter((file) => file.endsWith('.lua')).map((file) => `${folder.name}/${file}`));
  cache = files.map((file) => {
    const match = /^[a-z]+\/([A-Za-z]+)(?:-(\d+))?\.lua$/.exec(file);
    if (!match) throw new VerkConfigError(`nestjs-verk: unexpected script name lua/${file}`);
    const [, name, keys] = match;
    return {
      command: `verk${name[0].toUpperCase()}${name.slice(1)}`,
      numberOfKeys: keys === undefined ? undefined : Number(keys),
      lua: withConstants(withIncludes(readFileSync(join(dir, file), 'utf8'), dir, file)),
    };
  });
  const commands = cache.map((script) => script.command);
  const twice = commands.find((command, index) => commands.indexOf(command) !== index);
  if (twice) throw new VerkConfigError(`nestjs-verk: two scripts in lua/ define ${twice}`);
  return cache;
}

/** Registers the scripts as commands on a connection. */
export function defineScripts(redis: Redis): void {
  for (const script of loadScripts()) {
    redis.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    verkReconcileInProgress(inProgress: string, queue: string, prioritized: string, wake: string, dead: string, queueName: string, ...held: string[]): Result<number, Context>;
    /** `rest`: Keys.flowLossKeys, the node's heartbeat key, then maxDeadJobs, now, queue name, own (0 | 1) and the triples. */
    verkRecoverJobs(inProgress: string, queue: string, dead: string, failed: string, failedDay: string, queueFailed: string, queueFailedDay: string, prioritized: string, wake: string, ...rest: (string | number)[]): Result<[number, number, number], Context>;
    verkEnqueueJob(queues: string, queue: string, queueName: string, payload: string): Result<number, Context>;
    verkForgetNode(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    verkConfirmBlockedFetch(inProgress: string, queue: string, paused: string, nodes: string, nodeQueues: string, raw: string, queueName: string, nodeId: string): Result<number, Context>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    verkRetryNow(set: string, queues: string, queue: string, prioritized: string, prioritySeq: string, wake: string, member: string, payload: string, queueName: string): Result<number, Context>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** `pairs`: priority, payload, priority, payload, ... */
    verkEnqueuePrioritized(queues: string, prioritized: string, prioritySeq: string, wake: string, queueName: string, ...pairs: (string | number)[]): Result<number, Context>;
    verkReprioritize(queue: string, prioritized: string, prioritySeq: string, wake: string, member: string, where: 'list' | 'zset', payload: string, priority: number, queueName: string): Result<number, Context>;
    verkListQueue(queue: string, prioritized: string, offset: number, limit: number): Result<[number, ...string[]], Context>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    verkEnqueueFlowJobs(numKeys: number, ...keysAndArgs: (string | number)[]): Result<(string | number)[], Context>;
    verkCompleteFlowJob(
      inProgress: string, processed: string, processedDay: string, queueProcessed: string, queueProcessedDay: string,
      schedule: string, pending: string, done: string, dependents: string, blocked: string, waitingOn: string, lock: string, batch: string,
      raw: string, jid: string, now: number, retentionSeconds: number, maxDone: number, hasLock: number, hasBatch: number, dependable: number,
    ): Result<number, Context>;
    verkFailFlowJob(
      inProgress: string, target: string, dead: string, failed: string, failedDay: string, queueFailed: string, queueFailedDay: string,
      schedule: string, pending: string, lock: string, batch: string, dependents: string, blocked: string, waitingOn: string, lost: string,
      raw: string, payload: string, score: number, maxDeadJobs: number, jid: string, now: number, hasLock: number, hasBatch: number, retentionSeconds: number, dependable: number,
    ): Result<number, Context>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    verkCancelBlockedJobs(pending: string, dependents: string, blocked: string, waitingOn: string, jid: string): Result<string[], Context>;
    verkRemoveBlockedJob(pending: string, dependents: string, blocked: string, waitingOn: string, jid: string): Result<string | null, Context>;
    verkReleaseLock(lock: string, jid: string): Result<number, Context>;
    /** Admin delete and clear: see lua/removeJobs-7.lua (dead, then Keys.flowLossKeys). */
    verkRemoveJobs(
      from: string, dead: string, pending: string, dependents: string, blocked: string, waitingOn: string, lost: string,
      kind: 'list' | 'zset', mode: 'members' | 'oldest', maxDeadJobs: number, now: number, where: string, fromDead: 0 | 1, dependentsMode: 'lose' | 'keep', ...membersOrCount: (string | number)[]
    ): Result<number, Context>;
    verkSettleLostJobs(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Job history and tracking (recorder.ts): see lua/recordEvents.lua for the arguments. */
    verkRecordEvents(numKeys: number, ...keysAndArgs: (string | number)[]): Result<[number, number], Context>;
    verkTrimHistory(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
    verkTrimTags(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
    verkRelocateJob(from: string, to: string, fromKind: 'list' | 'zset' | 'hash', raw: string, toKind: 'zset' | 'hash' | 'none', payload: string, scoreOrField: string | number): Result<number, Context>;
    verkPutRecurring(recurring: string, due: string, name: string, expected: string, expectedTick: string, definition: string, nextTick: string): Result<number, Context>;
    verkTickRecurring(numKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
  }
}
