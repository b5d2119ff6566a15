import { html } from '../html/html';
import { num } from '../html/format';
import { HttpError, type PageContext, type PageResult } from '../server/context';
import { checkQueueParam } from '../api/params';
import { jobTable } from './job-rows';
import { actionButton, pageOf, pager } from './layout';

/** /verk/queues/:name: its waiting jobs in the order they will run, a page at a time. */
export async function queuePage(ctx: PageContext): Promise<PageResult> {
  const name = checkQueueParam(ctx.req.params.name);
  const { offset, limit } = pageOf(ctx);
  const [list, queues] = await Promise.all([ctx.data.queueJobs(name, { offset, limit }), ctx.data.queues()]);
  const queue = queues.find((row) => row.name === name);
  if (!queue && list.total === 0) throw new HttpError(404, `No queue named ${name}`);
  const path = `/api/queues/${encodeURIComponent(name)}`;
  const body = html`
<p class="summary">${num(list.total)} waiting${queue ? html` · ${num(queue.running)} running · ${queue.paused ? html`<span class="badge warn">paused</span>` : html`<span class="badge ok">running</span>`}` : ''}</p>
<div class="toolbar" data-queue="${name}">
  ${queue?.paused ? actionButton(ctx, 'resume', 'Resume', { post: `${path}/resume` }) : actionButton(ctx, 'pause', 'Pause', { post: `${path}/pause` })}
  ${actionButton(ctx, 'clear', 'Clear', { post: `${path}/clear`, confirm: `Delete all ${num(list.total)} waiting jobs of queue ${name}?`, danger: true })}
</div>
${jobTable(ctx, list.jobs, { queue: { name, offset } })}
${pager(ctx, `/queues/${encodeURIComponent(name)}`, offset, limit, list.total)}`;
  return { title: `Queue ${name}`, section: 'queues', body };
}
