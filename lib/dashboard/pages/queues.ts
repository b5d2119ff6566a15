import { type Html, html } from '../html/html';
import type { QueueRow } from '../data/data-source';
import { num } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import { actionButton } from './layout';

/** Seconds as "4 s", "3 min", "2 h". */
export function duration(seconds: number): string {
  if (seconds < 1) return '0 s';
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/** The queue's concurrency: the sum over live nodes, and each node's (as its heartbeat published it). */
function concurrencyCell(queue: QueueRow): Html {
  const { total, nodes, byNode } = queue.concurrency;
  if (nodes === 0) return html`–`;
  const listed = Object.entries(byNode);
  return html`<details class="per-node"><summary>${num(total)} on ${num(nodes)} node${nodes === 1 ? '' : 's'}</summary><ul>
${listed.map(([id, value]) => html`<li data-node="${id}"><code>${id}</code>: ${num(value)}${id === queue.nodeHere ? html` <span class="muted">(this node)</span>` : ''}</li>`)}
${nodes > listed.length ? html`<li class="muted">and ${num(nodes - listed.length)} more</li>` : ''}
</ul></details>`;
}

/** /verk/queues: every queue with its numbers; Pause / Resume (cluster-wide) and Clear. */
export async function queuesPage(ctx: PageContext): Promise<PageResult> {
  const queues = await ctx.data.queues();
  const body =
    queues.length === 0
      ? html`<p class="empty">No queues yet.</p>`
      : html`<table class="queues"><thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Prioritized</th><th class="num" title="Grouped jobs waiting in their groups">In groups</th><th class="num">Latency</th><th class="num">Running</th><th class="num">Concurrency per node</th><th class="num">Processed</th><th class="num">Failed</th><th>State</th><th><span class="sr">Actions</span></th></tr></thead><tbody>
${queues.map((queue) => {
  const path = `/api/queues/${encodeURIComponent(queue.name)}`;
  return html`<tr data-queue="${queue.name}">
  <td><a href="${ctx.url(`/queues/${encodeURIComponent(queue.name)}`)}">${queue.name}</a></td>
  <td class="num">${num(queue.waiting)}</td>
  <td class="num">${num(queue.prioritized)}</td>
  <td class="num" data-grouped="${queue.grouped}">${num(queue.grouped)}</td>
  <td class="num" data-latency="${queue.latency}" title="Age of the oldest waiting job">${duration(queue.latency)}</td>
  <td class="num">${num(queue.running)}</td>
  <td class="num" data-concurrency="${queue.concurrency.total}">${concurrencyCell(queue)}</td>
  <td class="num">${num(queue.processed)}</td>
  <td class="num">${num(queue.failed)}</td>
  <td>${queue.paused ? html`<span class="badge warn">paused</span>` : html`<span class="badge ok">running</span>`}</td>
  <td class="actions">
    ${queue.paused ? actionButton(ctx, 'resume', 'Resume', { post: `${path}/resume` }) : actionButton(ctx, 'pause', 'Pause', { post: `${path}/pause` })}
    ${actionButton(ctx, 'clear', 'Clear', { post: `${path}/clear`, confirm: `Delete all ${num(queue.waiting)} waiting jobs of queue ${queue.name}?`, danger: true })}
  </td>
</tr>`;
})}
</tbody></table>`;
  return { title: 'Queues', section: 'queues', body };
}
