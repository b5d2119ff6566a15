import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * The public API of each entry, as the names a user can import: values and types alike,
 * read from the declaration files the build emits (following `export *`). Widening or
 * narrowing an entry must change the lists below: a deliberate act, seen in review.
 */
const dist = resolve(__dirname, '..', '..', 'lib');

function declarationOf(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  for (const candidate of [`${base}.d.ts`, join(base, 'index.d.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`${from} re-exports ${spec}, which has no declaration file`);
}

export function exportedNames(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list.split(',')) {
      const name = item.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()?.trim();
      if (name) names.add(name);
    }
  }
  for (const [, spec] of source.matchAll(/export \* from ['"]([^'"]+)['"]/g)) for (const name of exportedNames(declarationOf(file, spec))) names.add(name);
  for (const [, name] of source.matchAll(/export (?:declare )?(?:abstract )?(?:class|interface|type|function|const|enum) (\w+)/g)) names.add(name);
  return [...names].sort();
}

/** Both entries: events, errors, job helpers, option and result types. */
const SHARED = [
  'BatchOptions', 'BatchResult', 'BatchStatus', 'CancelOptions', 'CatchUpPolicy', 'DayStats', 'EnqueueJob', 'FoundJob', 'HistoryOptions',
  'InvalidJobError', 'JobContext', 'JobEvent', 'JobEventName', 'JobFailed', 'JobFinished', 'JobPage', 'JobPayload', 'JobSet', 'JobSource',
  'JobStarted', 'JobState', 'JobStatus', 'ListOptions', 'ListedJob', 'NodeStats', 'QueuePaused', 'QueuePausing', 'QueueRunning', 'QueueStats',
  'RecurringJob', 'RecurringOptions', 'RecurringPatch', 'RetryAt', 'StatsOptions', 'TaggedJobs', 'TracingOptions', 'TrackedJobEvent', 'TrackedJobListener',
  'UniqueOptions', 'UnknownWorkerError', 'VerkConfigError', 'VerkError', 'VerkEvent', 'VerkEventClass', 'VerkEventListener', 'VerkFlowError', 'VerkLogger',
  'VerkMetricsOptions', 'VerkMetricsRegistry', 'VerkMiddlewareError', 'VerkOptions', 'VerkRedisError', 'VerkStateError', 'VerkStats', 'VerkValidationError', 'WorkerClassRef', 'currentJob', 'newJid', 'redactRedisUrl', 'redactSecrets',
  'subscribeToTrackedJobs',
  // Run/wait histograms of queueStats() (issue 13).
  'DurationHistogram', 'HistogramBucket', 'QueueDetails', 'QueueHistograms', 'QueueStatsOptions',
  // Per job class metrics of the last hours (issue 12: admin.classMetrics, VerkService.classMetrics).
  'ClassMetricsPoint', 'ClassMetricsQuery', 'ClassMetricsReport', 'ClassMetricsRow', 'DurationSummary',
  // The dashboard's reads and bulk actions (engine.browse, engine.bulk; VerkService).
  'BulkResult', 'BusyNode', 'BusyOptions', 'BusyPage', 'JobFilter', 'JobRef', 'QueueOverview', 'QueueOverviewOptions', 'QueueOverviewPage',
  'RetryAllResult', 'RunningJob', 'SearchOptions', 'SearchPage',
  // Beyond one Redis (issue 17): Redis Cluster and durability options.
  'DurabilityOptions', 'VerkClusterConfig', 'VerkRedisTarget',
  // Job lookup by jid in bounded steps (engine.browse.locate, VerkService.locateJob; flow.job/cancel's `locate`).
  'JobHint', 'JobStatusOptions', 'LocateOptions', 'LocateResult',
  // The RabbitMQ broker (issue 18): its options and its error.
  'RabbitQueueType', 'VerkBrokerError', 'VerkBrokerOptions',
  // Limits and groups (issue 16, docs/limits.md).
  'GroupLimits', 'QueueConfig', 'QueueLimits', 'QueueLimitsState', 'RateLimit', 'VerkRateLimitError',
];

const MAIN = [
  ...SHARED,
  'DashboardAction', 'JobLogLevel', 'JobLogLevels', 'OnVerkEvent', 'Perform', 'VerkClientMiddleware', 'VerkDashboardAsyncOptions', 'VerkDashboardModule', 'VerkDashboardOptions', 'VerkHealthCheckOptions', 'VerkHealthDetails', 'VerkHealthIndicator',
  'VerkHealthIndicatorResult', 'VerkMetricsController', 'VerkMiddleware', 'VerkModule', 'VerkModuleAsyncOptions', 'VerkModuleExtras', 'VerkModuleOptions', 'VerkOptionsFactory',
  'VerkService', 'Worker', 'WorkerOptions',
  // VerkModule.forTesting (issue 15).
  'DrainOptions', 'DrainResult', 'TestingJobRun', 'TestingSetEntry', 'VerkTesting', 'VerkTestingBuilder', 'VerkTestingOptions',
  // Named instances (issue 17).
  'InjectVerk', 'InjectVerkHealth', 'getVerkHealthToken', 'getVerkServiceToken',
].sort();

const ENGINE = [...SHARED, 'ClientMiddleware', 'RabbitCounters', 'ServerMiddleware', 'VerkEngine', 'VerkEngineHooks', 'VerkHealthFacts', 'VerkRabbitEngine', 'WorkerHandler'].sort();

test('API snapshot: the names `nestjs-verk` exports', () => {
  assert.deepEqual(exportedNames(join(dist, 'index.d.ts')), MAIN);
});

test('API snapshot: the names `nestjs-verk/engine` exports', () => {
  assert.deepEqual(exportedNames(join(dist, 'engine', 'index.d.ts')), ENGINE);
});

test('the entries resolve by package name, and internals are reachable from neither', () => {
  // Self-reference through package.json "exports", as an installed package resolves.
  const main = require('nestjs-verk') as Record<string, unknown>;
  const engine = require('nestjs-verk/engine') as Record<string, unknown>;
  assert.equal(typeof main.VerkModule, 'function');
  assert.equal(typeof engine.VerkEngine, 'function');
  assert.equal(main.VerkEngine, undefined, 'the engine class is on the subpath only');
  for (const internal of ['Keys', 'JobRecorder', 'WorkerRegistry', 'resolveOptions', 'EventBus', 'VerkClient', 'VerkAdmin', 'MiddlewareStack', 'VERK_MODULE_OPTIONS']) {
    assert.equal(main[internal], undefined, `nestjs-verk exports ${internal}`);
    assert.equal(engine[internal], undefined, `nestjs-verk/engine exports ${internal}`);
  }
  // Both entries hand out the same classes (instanceof works across them).
  assert.equal(main.VerkValidationError, engine.VerkValidationError);
  assert.throws(() => require('nestjs-verk/dist/lib/engine/keys'), /not defined by "exports"|ERR_PACKAGE_PATH_NOT_EXPORTED/);
});
