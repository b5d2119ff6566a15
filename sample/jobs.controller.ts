import { BadRequestException, Body, Controller, Get, Header, Headers, Logger, Post } from '@nestjs/common';
import { type EnqueueJob, VerkService, VerkValidationError } from 'nestjs-verk';
import { WORKERS } from './workers';

/** A POST /jobs body once its JSON types are checked. In the body every field is optional. */
interface JobRequest {
  class: string;
  args: unknown[];
  queue?: string;
  /** Run after this many seconds instead of now. */
  in?: number;
}

const DEMO_JOB = { class: 'SendWelcomeEmail', args: [42, 'ada@example.com'] };
const FIELDS = ['class', 'args', 'queue', 'in'];

/** The job classes this app runs: the only ones POST /jobs accepts. */
const CLASSES = WORKERS.map((worker) => worker.name);
/** The longest delay `in` may ask for: 30 days, in seconds. */
const MAX_DELAY_SECONDS = 30 * 24 * 3600;

/**
 * Checks the JSON types of the body, so that it can be typed as a job, and that the class
 * is one of this app's workers: the endpoint has no authentication, so it must not let a
 * caller put arbitrary jobs in Redis for other systems sharing it (a Sidekiq app would run
 * any class it knows). What a valid queue name is stays VerkService's decision: it throws
 * VerkValidationError, which is turned into a 400 below.
 */
function parseRequest(body: unknown = {}): JobRequest {
  // No body at all (a bare `curl -X POST`) is the same as {}.
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestException('body must be a JSON object');
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!FIELDS.includes(key)) throw new BadRequestException(`unknown field "${key}" (known: ${FIELDS.join(', ')}; send JSON with content-type: application/json)`);
  }
  // `{}` is the demo job; its args are the default only when the class is too.
  const { class: cls = DEMO_JOB.class, args = input.class === undefined ? DEMO_JOB.args : [], queue, in: delay } = input;
  if (typeof cls !== 'string' || !CLASSES.includes(cls)) throw new BadRequestException(`class must be one of ${CLASSES.join(', ')}`);
  if (!Array.isArray(args)) throw new BadRequestException('args must be an array');
  if (queue !== undefined && typeof queue !== 'string') throw new BadRequestException('queue must be a string');
  if (delay !== undefined && (typeof delay !== 'number' || !(delay >= 0 && delay <= MAX_DELAY_SECONDS))) throw new BadRequestException(`in must be a number of seconds from 0 to ${MAX_DELAY_SECONDS}`);
  return { class: cls, args, queue, in: delay };
}

@Controller()
export class JobsController {
  private readonly logger = new Logger(JobsController.name);

  constructor(private readonly verk: VerkService) {}

  @Post('jobs')
  async create(@Body() body: unknown): Promise<{ jid: string }> {
    const request = parseRequest(body);
    // The sample's workers run the job class named like the class itself (plain @Worker()).
    const worker = WORKERS.find((candidate) => candidate.name === request.class);
    const job: EnqueueJob = { class: request.class, args: request.args, queue: request.queue ?? worker?.queue ?? 'default' };
    // Only the queues this node runs: an unauthenticated caller must not create queues that
    // no worker reads (a job there would wait forever, and the names would pile up in Redis).
    const queues = Object.keys(this.verk.queues());
    if (!queues.includes(job.queue)) throw new BadRequestException(`queue must be one of ${queues.join(', ')}`);
    try {
      const jid = request.in === undefined ? await this.verk.enqueue(job) : await this.verk.schedule(job, Date.now() + request.in * 1000);
      // Never the args: they are the caller's data (emails, ids, tokens) and logs are not private.
      this.logger.log(`${request.in === undefined ? 'Enqueued' : `Scheduled in ${request.in} s:`} ${request.class} on queue ${job.queue}, jid ${jid}`);
      return { jid };
    } catch (error) {
      // Bad input: the message names the field, e.g. `job.queue: must be a non-empty ...`.
      if (error instanceof VerkValidationError) throw new BadRequestException(error.message);
      throw error; // anything else (Redis unreachable, ...) is a 500
    }
  }

  @Get()
  @Header('content-type', 'text/plain; charset=utf-8')
  help(@Headers('host') host = 'localhost:3000'): string {
    const queues = Object.entries(this.verk.queues()).map(([name, concurrency]) => `${name} (${concurrency})`);
    const curl = `curl -X POST http://${host}/jobs -H 'content-type: application/json' -d`;
    return [
      `nestjs-verk sample: node ${this.verk.nodeId}, queues ${queues.join(', ')}`,
      '',
      `Dashboard: http://${host}/verk`,
      '',
      'POST /jobs  {"class"?: string, "args"?: array, "queue"?: string, "in"?: seconds}  ->  {"jid": "..."}',
      `  class   one of this app's workers: ${WORKERS.map((worker) => `${worker.name} (queue ${worker.queue})`).join(', ')}`,
      '  args    arguments of the worker\'s @Perform() method',
      `  queue   one of this node's queues (${queues.join(', ')}); default: the queue of the worker named by class`,
      '  in      run after this many seconds (at most 30 days) instead of now',
      '  {}      enqueues a demo SendWelcomeEmail; invalid input gets a 400 naming the field, a body over 16 kB a 413',
      '',
      'GET /health  200 while Redis answers, this node\'s heartbeat is fresh and its queues run; else 503 saying what is wrong',
      '',
      'Examples:',
      `  ${curl} '{"class":"SendWelcomeEmail","args":[1,"ada@example.com"]}'`,
      `  ${curl} '{"class":"SendPasswordReset","args":["ada@example.com"]}'`,
      `  ${curl} '{"class":"SendWelcomeEmail","args":[2,"bob@example.com"],"in":10}'`,
      '',
    ].join('\n');
  }
}
