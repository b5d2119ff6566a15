import type { JobSet } from '../../engine/admin/admin';
import type { JobRef } from '../../engine/admin/job-refs';
import type { DashboardAction } from '../dashboard-options';
import { HttpError, type PageContext } from '../server/context';
import { filterOf } from '../pages/set-page';
import { pageOf } from '../pages/layout';
import { checkJidParam, checkKillSet, classParam, checkQueueParam, checkRefs, checkSetParam, hintOfBody, hintOfQuery, periodParam } from './params';

/** A JSON route under <path>/api. Mutating ones (POST) name the action `authorize` decides. */
export interface ApiRoute {
  method: 'GET' | 'POST';
  path: string;
  action?: DashboardAction;
  handle(ctx: PageContext): Promise<unknown>;
}

function bodyOf(ctx: PageContext): Record<string, unknown> {
  const body = ctx.req.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

function fromSet(ctx: PageContext): JobSet {
  const from = bodyOf(ctx).from;
  if (from !== 'schedule' && from !== 'retry' && from !== 'dead') throw new HttpError(400, "from: must be 'schedule', 'retry' or 'dead'");
  return from;
}

/** The job of a /jobs/:jid action, with its score when the page knew it (`at` in the body). */
function jobRef(ctx: PageContext): JobRef {
  const jid = checkJidParam(ctx.req.params.jid);
  const at = bodyOf(ctx).at;
  return typeof at === 'number' && Number.isFinite(at) ? { jid, at } : jid;
}

/** ?date=YYYY-MM-DD of the metrics page (UTC day of the histograms); undefined for today. */
export function dateOf(ctx: PageContext): string | undefined {
  const date = ctx.req.query.date;
  if (!date) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new HttpError(400, 'date: must be a day as YYYY-MM-DD');
  return date;
}

/** The JSON API (documented in docs/dashboard.md); the pages' buttons call the POST routes. */
export const API_ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/stats', handle: (ctx) => ctx.data.overview(Math.min(180, Math.max(1, Math.floor(Number(ctx.req.query.days) || 1)))) },
  { method: 'GET', path: '/queues', handle: (ctx) => ctx.data.queues() },
  { method: 'GET', path: '/queues/:name/jobs', handle: (ctx) => ctx.data.queueJobs(checkQueueParam(ctx.req.params.name), pageOf(ctx)) },
  { method: 'GET', path: '/busy', handle: (ctx) => ctx.data.busy(ctx.req.query.cursor || undefined, pageOf(ctx).limit) },
  { method: 'GET', path: '/sets/:set', handle: (ctx) => ctx.data.setJobs(checkSetParam(ctx.req.params.set), pageOf(ctx), filterOf(ctx)) },
  {
    method: 'GET',
    path: '/jobs/:jid',
    handle: (ctx) => ctx.data.job(checkJidParam(ctx.req.params.jid), ctx.req.query.cursor ? { cursor: ctx.req.query.cursor } : { hint: hintOfQuery(ctx.req.query) }),
  },
  { method: 'GET', path: '/recurring', handle: (ctx) => ctx.data.recurring() },
  { method: 'GET', path: '/batches', handle: (ctx) => ctx.data.batches(ctx.req.query.cursor || undefined) },
  { method: 'GET', path: '/metrics', handle: (ctx) => ctx.data.metrics(dateOf(ctx)) },
  { method: 'GET', path: '/metrics/classes', handle: (ctx) => ctx.data.classMetrics(periodParam(ctx.req.query.period), classParam(ctx.req.query.class)) },
  { method: 'GET', path: '/tags/:tag', handle: (ctx) => ctx.data.tagged(ctx.req.params.tag, pageOf(ctx)) },

  { method: 'POST', path: '/queues/:name/pause', action: 'pause', handle: async (ctx) => (await ctx.data.pause(checkQueueParam(ctx.req.params.name)), { ok: true }) },
  { method: 'POST', path: '/queues/:name/resume', action: 'resume', handle: async (ctx) => (await ctx.data.resume(checkQueueParam(ctx.req.params.name)), { ok: true }) },
  { method: 'POST', path: '/queues/:name/clear', action: 'clear', handle: async (ctx) => ({ ok: true, done: await ctx.data.clearQueue(checkQueueParam(ctx.req.params.name)) }) },

  { method: 'POST', path: '/sets/:set/retry', action: 'retry', handle: async (ctx) => ({ ok: true, done: await ctx.data.retry(checkSetParam(ctx.req.params.set), checkRefs(ctx.req.body)) }) },
  { method: 'POST', path: '/sets/:set/delete', action: 'delete', handle: async (ctx) => ({ ok: true, done: await ctx.data.remove(checkSetParam(ctx.req.params.set), checkRefs(ctx.req.body)) }) },
  { method: 'POST', path: '/sets/:set/kill', action: 'kill', handle: async (ctx) => ({ ok: true, done: await ctx.data.kill(checkKillSet(checkSetParam(ctx.req.params.set)), checkRefs(ctx.req.body)) }) },
  { method: 'POST', path: '/sets/:set/retry-all', action: 'retry', handle: async (ctx) => ({ ok: true, ...(await ctx.data.retryAll(checkSetParam(ctx.req.params.set))) }) },
  { method: 'POST', path: '/sets/:set/delete-all', action: 'delete', handle: async (ctx) => ({ ok: true, ...(await ctx.data.deleteAll(checkSetParam(ctx.req.params.set))) }) },

  { method: 'POST', path: '/jobs/:jid/retry', action: 'retry', handle: async (ctx) => ({ ok: true, done: await ctx.data.retry(fromSet(ctx), [jobRef(ctx)]) }) },
  { method: 'POST', path: '/jobs/:jid/kill', action: 'kill', handle: async (ctx) => ({ ok: true, done: await ctx.data.kill(checkKillSet(fromSet(ctx)), [jobRef(ctx)]) }) },
  { method: 'POST', path: '/jobs/:jid/delete', action: 'delete', handle: async (ctx) => ({ ok: true, done: (await ctx.data.cancel(checkJidParam(ctx.req.params.jid), hintOfBody(ctx.req.body))) ? 1 : 0 }) },
  { method: 'POST', path: '/jobs/:jid/cancel', action: 'cancel', handle: async (ctx) => ({ ok: true, done: (await ctx.data.cancel(checkJidParam(ctx.req.params.jid), hintOfBody(ctx.req.body))) ? 1 : 0 }) },
  {
    method: 'POST',
    path: '/jobs/:jid/move',
    action: 'move',
    handle: async (ctx) => ({ ok: true, done: (await ctx.data.move(checkJidParam(ctx.req.params.jid), checkQueueParam(String(bodyOf(ctx).queue ?? '')), hintOfBody(ctx.req.body))) ? 1 : 0 }),
  },
  {
    method: 'POST',
    path: '/jobs/:jid/priority',
    action: 'priority',
    handle: async (ctx) => {
      const priority = Number(bodyOf(ctx).priority);
      if (!Number.isInteger(priority) || priority < -1000 || priority > 1000) throw new HttpError(400, 'priority: must be an integer from -1000 to 1000');
      return { ok: true, done: (await ctx.data.setPriority(checkJidParam(ctx.req.params.jid), priority, hintOfBody(ctx.req.body))) ? 1 : 0 };
    },
  },
  {
    method: 'POST',
    path: '/recurring/:name/enqueue',
    action: 'enqueue',
    handle: async (ctx) => {
      const jid = await ctx.data.enqueueRecurring(String(ctx.req.params.name));
      if (jid === null) throw new HttpError(404, `No recurring job named ${ctx.req.params.name}`);
      return { ok: true, jid };
    },
  },
  { method: 'POST', path: '/recurring/:name/remove', action: 'remove', handle: async (ctx) => ({ ok: true, done: (await ctx.data.removeRecurring(String(ctx.req.params.name))) ? 1 : 0 }) },
];
