import { html } from '../html/html';
import { num, short, time, timeSeconds } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import { actionButton, pageOf } from './layout';
import { duration } from './queues';

/**
 * /verk/busy: a page of nodes (alive or dead, with their heartbeat age) and the jobs
 * running on them, paginated by the engine's cursor so a thousand nodes stay fast;
 * Cancel per job.
 */
export async function busyPage(ctx: PageContext): Promise<PageResult> {
  const { limit } = pageOf(ctx);
  const cursor = ctx.req.query.cursor || undefined;
  const view = await ctx.data.busy(cursor, limit);
  const alive = view.nodes.filter((node) => node.alive).length;
  const now = Date.now();
  const body = html`
<section class="panel" aria-labelledby="nodes-title">
<h2 id="nodes-title">Nodes (${num(view.totalNodes)} registered; on this page ${num(alive)} alive, ${num(view.nodes.length - alive)} dead)</h2>
${
  view.nodes.length === 0
    ? html`<p class="empty">No node.</p>`
    : html`<table><thead><tr><th>Node</th><th>Queues</th><th class="num">In progress</th><th class="num">Heartbeat</th><th>State</th></tr></thead><tbody>
${view.nodes.map(
  (node) =>
    html`<tr data-node="${node.id}"><td><code>${node.id}</code></td><td>${node.queues.map((queue) => html`<span class="tag">${queue} (${num(node.running[queue] ?? 0)})</span> `)}</td><td class="num">${num(node.busy)}</td><td class="num" data-heartbeat-age="${node.heartbeatAgeMs ?? ''}">${node.heartbeatAgeMs === null ? '–' : `${duration(node.heartbeatAgeMs / 1000)} ago`}</td><td>${node.alive ? html`<span class="badge ok">alive</span>` : html`<span class="badge warn">dead</span>`}</td></tr>`,
)}
</tbody></table>`
}
</section>
<section class="panel" aria-labelledby="running-title">
<h2 id="running-title">Running jobs on these nodes (${num(view.running.length)})</h2>
${
  view.running.length === 0
    ? html`<p class="empty">Nothing is running.</p>`
    : html`<table class="jobs"><thead><tr><th>Node</th><th>Queue</th><th>Job</th><th>Arguments</th><th>Started</th><th class="num">Elapsed</th><th><span class="sr">Actions</span></th></tr></thead><tbody>
${view.running.map((entry) => {
  const jid = entry.job?.jid ?? '';
  return html`<tr data-jid="${jid}"><td><code>${entry.nodeId}</code></td><td>${entry.queue}</td>
<td>${entry.job ? html`<a href="${ctx.url(`/jobs/${encodeURIComponent(jid)}`, { queue: entry.queue, node: entry.nodeId })}">${entry.job.class}</a><br><code class="jid">${jid}</code>` : html`<span class="bad">invalid payload</span>`}</td>
<td><code class="args">${entry.job ? short(entry.job.args, 160) : short(entry.raw, 160)}</code></td>
<td>${entry.startedAt !== null ? time(entry.startedAt) : html`enqueued ${timeSeconds(entry.job?.enqueued_at)}`}</td>
<td class="num">${entry.startedAt !== null ? duration((now - entry.startedAt) / 1000) : '–'}</td>
<td class="actions">${jid ? actionButton(ctx, 'cancel', 'Cancel', { post: `/api/jobs/${encodeURIComponent(jid)}/cancel`, body: { hint: { queue: entry.queue, node: entry.nodeId } }, confirm: `Cancel running job ${jid}?`, danger: true }) : ''}</td></tr>`;
})}
</tbody></table>`
}
<nav class="pager" aria-label="Pages">
  ${cursor ? html`<a href="${ctx.url('/busy', { limit })}">← First page</a>` : html`<span class="muted">← First page</span>`}
  ${view.nextCursor ? html`<a href="${ctx.url('/busy', { limit, cursor: view.nextCursor })}" rel="next">Next nodes →</a>` : html`<span class="muted">Next nodes →</span>`}
</nav>
</section>`;
  return { title: 'Busy', section: 'busy', body };
}
