import 'reflect-metadata';
import { createServer, type Server } from 'node:net';
import { after, before } from 'node:test';
import { type DynamicModule, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { currentJob, type JobContext, type JobPayload, JobFinished, newJid, OnVerkEvent, Perform, type VerkClientMiddleware, type VerkMiddleware, VerkService, VerkTesting, Worker } from 'nestjs-verk';
import { boot } from './nest';
import { freePort } from './redis-server';

/**
 * A small application for the forTesting suites: workers with injected dependencies, a
 * service that enqueues, global server and client middleware, an @OnVerkEvent handler.
 * Its VerkModule is a parameter, as an application's own test setup would swap it.
 */

/** What ran, in order (injected into every worker). */
@Injectable()
export class Ledger {
  readonly entries: string[] = [];
  /** Failures still to throw, per key (FlakyWorker). */
  readonly failuresLeft = new Map<string, number>();
  readonly finishedEvents: string[] = [];
  record(entry: string): void {
    this.entries.push(entry);
  }
}

/** Server middleware: records around every job and hands the worker a value through the context. */
@Injectable()
export class AuditMiddleware implements VerkMiddleware {
  constructor(private readonly ledger: Ledger) {}
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    job.context.set('tenant', 't-1');
    await next();
    this.ledger.record(`audit:${job.class}`);
  }
}

/** Client middleware: stamps every enqueued job. */
@Injectable()
export class StampMiddleware implements VerkClientMiddleware {
  async enqueue(job: JobPayload, next: () => Promise<void>): Promise<void> {
    job.stamped_by = 'StampMiddleware';
    await next();
  }
}

@Worker()
@Injectable()
export class SendWelcome {
  constructor(private readonly ledger: Ledger) {}
  @Perform() perform(userId: number): void {
    this.ledger.record(`welcome:${userId}:${String(currentJob()?.context.get('tenant'))}`);
  }
}

/** A chain: step n enqueues step n + 1 up to `last`. */
@Worker()
@Injectable()
export class ChainStep {
  constructor(
    private readonly ledger: Ledger,
    private readonly verk: VerkService,
  ) {}
  @Perform() async perform(step: number, last: number): Promise<void> {
    this.ledger.record(`step:${step}`);
    if (step < last) await this.verk.enqueue({ queue: 'default', class: ChainStep, args: [step + 1, last] });
    this.ledger.record(`step-done:${step}`);
  }
}

/** Records its name (diamond nodes, batch members, priorities). */
@Worker('Graph::Node')
@Injectable()
export class GraphNode {
  constructor(private readonly ledger: Ledger) {}
  @Perform() perform(name: string): void {
    this.ledger.record(`node:${name}`);
  }
}

/** Throws while `ledger.failuresLeft` says so for its key. */
@Worker()
@Injectable()
export class FlakyWorker {
  constructor(private readonly ledger: Ledger) {}
  @Perform() perform(key: string): void {
    const left = this.ledger.failuresLeft.get(key) ?? 0;
    this.ledger.record(`flaky:${key}:${left > 0 ? 'fail' : 'ok'}`);
    if (left > 0) {
      this.ledger.failuresLeft.set(key, left - 1);
      throw new TypeError(`flaky ${key} failed (${left} left)`);
    }
  }
}

/** The batch callback: records the counts it receives. */
@Worker()
@Injectable()
export class ImportDone {
  constructor(private readonly ledger: Ledger) {}
  @Perform() perform(label: string, counts: { total: number; succeeded: number; dead: number }): void {
    this.ledger.record(`batch:${label}:${counts.total}/${counts.succeeded}/${counts.dead}`);
  }
}

/** The application's own service: what the tests assert on through jobs(). */
@Injectable()
export class SignupService {
  constructor(private readonly verk: VerkService) {}

  signUp(userId: number): Promise<string> {
    return this.verk.enqueue({ queue: 'mail', class: SendWelcome, args: [userId] });
  }

  /** fetch -> (resize, index) -> publish */
  async diamond(): Promise<string[]> {
    const [fetch, resize, index, publish] = [newJid(), newJid(), newJid(), newJid()];
    await this.verk.enqueueMany([
      { queue: 'default', class: 'Graph::Node', args: ['publish-never-first'], jid: newJid(), priority: -5 },
      { queue: 'default', class: 'Graph::Node', args: ['fetch'], jid: fetch },
      { queue: 'default', class: 'Graph::Node', args: ['resize'], jid: resize, dependsOn: [fetch] },
      { queue: 'default', class: 'Graph::Node', args: ['index'], jid: index, dependsOn: [fetch] },
      { queue: 'default', class: 'Graph::Node', args: ['publish'], jid: publish, dependsOn: [resize, index] },
    ]);
    return [fetch, resize, index, publish];
  }
}

/** An @OnVerkEvent handler, as an application has. */
@Injectable()
export class FinishedListener {
  constructor(private readonly ledger: Ledger) {}
  @OnVerkEvent(JobFinished) onFinished(event: JobFinished): void {
    this.ledger.finishedEvents.push(event.job.class);
  }
}

@Module({ providers: [Ledger], exports: [Ledger] })
export class LedgerModule {}

@Module({ imports: [LedgerModule], providers: [SendWelcome, ChainStep, GraphNode, FlakyWorker, ImportDone, SignupService, FinishedListener, AuditMiddleware] })
export class FeatureModule {}

/** The application with the given VerkModule (forRoot in production, forTesting in tests). */
export async function bootApp(verk: DynamicModule): Promise<INestApplicationContext> {
  @Module({ imports: [verk, LedgerModule, FeatureModule] })
  class AppModule {}
  return boot(AppModule);
}

export interface ConnectionCounter {
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}

/**
 * A TCP listener on a free port that counts the connections it accepts: point Redis at it
 * and nothing should ever connect.
 */
export async function connectionCounter(): Promise<ConnectionCounter> {
  const port = await freePort();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface TestingAppContext {
  readonly app: INestApplicationContext;
  readonly verk: VerkService;
  readonly testing: VerkTesting;
  readonly ledger: Ledger;
  /** Where Redis would be: must see no connection. */
  readonly redis: ConnectionCounter;
  /** Forgets the kept jobs and what the ledger recorded, for the next test. */
  reset(): void;
}

/**
 * One testing app per test file, as the forTesting suites use it: a connection counter
 * where Redis would be, and the app with `verk` (a VerkModule.forTesting), both started
 * before the file's first test and closed after its last.
 */
export function useTestingApp(verk: DynamicModule): TestingAppContext {
  let app: INestApplicationContext | undefined;
  let redis: ConnectionCounter | undefined;
  before(async () => {
    redis = await connectionCounter();
    app = await bootApp(verk);
  });
  after(async () => {
    await app?.close();
    await redis?.close();
  });
  const current = () => {
    if (!app || !redis) throw new Error('useTestingApp(): the app is there from before() on');
    return { app, redis };
  };
  return {
    get app() {
      return current().app;
    },
    get verk() {
      return current().app.get(VerkService);
    },
    get testing() {
      return current().app.get(VerkTesting);
    },
    get ledger() {
      return current().app.get(Ledger);
    },
    get redis() {
      return current().redis;
    },
    reset() {
      this.testing.clear();
      this.ledger.entries.length = 0;
      this.ledger.failuresLeft.clear();
    },
  };
}
