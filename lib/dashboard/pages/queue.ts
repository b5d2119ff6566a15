import { type Html, html } from '../html/html';
import { num, time } from '../html/format';
import type { QueueLimitsState, RateLimit } from '../../engine/limits/queue-limits';
import { HttpError, type PageContext, type PageResult } from '../server/context';
import { checkQueueParam } from '../api/params';
import { jobTable } from './job-rows';
import { actionButton, pageOf, pager } from './layout';

/** /verk/queues/:name: its waiting jobs in the order they will run, a page at a time. */
export async function queuePage(ctx: PageContext): Promise<PageResult> {
  const name = checkQueueParam(ctx.req.params.name);
  const { offset, limit } = pageOf(ctx);
  const [list, queues, limits] = await Promise.all([ctx.data.queueJobs(name, { offset, limit }), ctx.data.queues(), ctx.data.queueLimits(name)]);
  const queue = queues.find((row) => row.name === name);
  if (!queue && list.total === 0) throw new HttpError(404, `No queue named ${name}`);
  const path = `/api/queues/${encodeURIComponent(name)}`;
  const body = html`
<p class="summary">${num(list.total)} waiting${queue ? html` · ${num(queue.running)} running · ${queue.paused ? html`<span class="badge warn">paused</span>` : html`<span class="badge ok">running</span>`}` : ''}</p>
${limitsLine(limits)}
<div class="toolbar" data-queue="${name}">
  ${queue?.paused ? actionButton(ctx, 'resume', 'Resume', { post: `${path}/resume` }) : actionButton(ctx, 'pause', 'Pause', { post: `${path}/pause` })}
  ${actionButton(ctx, 'clear', 'Clear', { post: `${path}/clear`, confirm: `Delete all ${num(list.total)} waiting jobs of queue ${name}?`, danger: true })}
</div>
${jobTable(ctx, list.jobs, { queue: { name, offset } })}
${pager(ctx, `/queues/${encodeURIComponent(name)}`, offset, limit, list.total)}`;
  return { title: `Queue ${name}`, section: 'queues', body };
}

/** "100 / 1 s", "5 / 250 ms". */
function rate({ max, duration }: RateLimit): string {
  return `${num(max)} / ${duration % 1000 === 0 ? `${num(duration / 1000)} s` : `${num(duration)} ms`}`;
}

/**
 * The queue's limits (docs/limits.md) and their state across nodes, when it has any: what an
 * operator looks for when a queue drains slower than its workers could.
 */
function limitsLine(state: QueueLimitsState): Html | string {
  const { limits, running, pausedUntil, grouped, groups } = state;
  const parts: Html[] = [];
  if (limits.rateLimit) parts.push(html`rate limit <strong>${rate(limits.rateLimit)}</strong>`);
  if (limits.globalConcurrency !== undefined) parts.push(html`global concurrency <strong>${num(limits.globalConcurrency)}</strong> (${num(running)} running)`);
  if (limits.groups?.concurrency !== undefined) parts.push(html`per group <strong>${num(limits.groups.concurrency)}</strong> at a time`);
  if (limits.groups?.rateLimit) parts.push(html`per group <strong>${rate(limits.groups.rateLimit)}</strong>`);
  if (grouped > 0) parts.push(html`${num(grouped)} waiting in ${num(groups)} group${groups === 1 ? '' : 's'}`);
  if (pausedUntil > Date.now()) parts.push(html`<span class="badge warn">rate-limited</span> until ${time(pausedUntil)}`);
  if (parts.length === 0) return '';
  return html`<p class="summary limits" data-limits>Limits: ${parts.map((part, i) => html`${i > 0 ? ' · ' : ''}${part}`)}</p>`;
}
