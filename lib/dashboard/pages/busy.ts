import { html } from '../html/html';
import { num, short, timeSeconds } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import { actionButton, pageOf, pager } from './layout';

/** /verk/busy: live nodes and the jobs running on them (paginated), Cancel per job. */
export async function busyPage(ctx: PageContext): Promise<PageResult> {
  const { offset, limit } = pageOf(ctx);
  const view = await ctx.data.busy({ offset, limit });
  const body = html`
<section class="panel" aria-labelledby="nodes-title">
<h2 id="nodes-title">Nodes (${num(view.nodes.length)} alive)</h2>
${
  view.nodes.length === 0
    ? html`<p class="empty">No live node.</p>`
    : html`<table><thead><tr><th>Node</th><th>Queues</th><th class="num">In progress</th><th>State</th></tr></thead><tbody>
${view.nodes.map((node) => html`<tr data-node="${node.id}"><td><code>${node.id}</code></td><td>${node.queues.map((queue) => html`<span class="tag">${queue} (${num(node.running[queue] ?? 0)})</span> `)}</td><td class="num">${num(node.busy)}</td><td><span class="badge ok">alive</span></td></tr>`)}
</tbody></table>`
}
</section>
<section class="panel" aria-labelledby="running-title">
<h2 id="running-title">Running jobs (${num(view.total)})</h2>
${
  view.running.length === 0
    ? html`<p class="empty">Nothing is running.</p>`
    : html`<table class="jobs"><thead><tr><th>Node</th><th>Queue</th><th>Job</th><th>Arguments</th><th>Enqueued</th><th><span class="sr">Actions</span></th></tr></thead><tbody>
${view.running.map((entry) => {
  const jid = entry.job?.jid ?? '';
  return html`<tr data-jid="${jid}"><td><code>${entry.nodeId}</code></td><td>${entry.queue}</td>
<td>${entry.job ? html`<a href="${ctx.url(`/jobs/${encodeURIComponent(jid)}`)}">${entry.job.class}</a><br><code class="jid">${jid}</code>` : html`<span class="bad">invalid payload</span>`}</td>
<td><code class="args">${entry.job ? short(entry.job.args, 160) : short(entry.raw, 160)}</code></td>
<td>${timeSeconds(entry.job?.enqueued_at)}</td>
<td class="actions">${jid ? actionButton(ctx, 'cancel', 'Cancel', { post: `/api/jobs/${encodeURIComponent(jid)}/cancel`, confirm: `Cancel running job ${jid}?`, danger: true }) : ''}</td></tr>`;
})}
</tbody></table>`
}
${pager(ctx, '/busy', offset, limit, view.total)}
</section>`;
  return { title: 'Busy', section: 'busy', body };
}
