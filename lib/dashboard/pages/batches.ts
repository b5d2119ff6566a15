import { type Html, html } from '../html/html';
import { num, time } from '../html/format';
import { HttpError, type PageContext, type PageResult } from '../server/context';
import type { BatchStatus } from '../../engine/flow/flow-admin';
import { checkJidParam } from '../api/params';

/** A batch's progress: a <progress> bar (no inline style needed) and its counters. */
export function batchProgress(ctx: PageContext, batch: BatchStatus): Html {
  const done = batch.succeeded + batch.dead;
  return html`<div class="batch" data-bid="${batch.bid}">
  <a href="${ctx.url(`/batches/${encodeURIComponent(batch.bid)}`)}"><code>${batch.bid}</code></a>
  <progress max="${batch.total}" value="${done}" aria-label="Batch ${batch.bid}: ${done} of ${batch.total} done">${done}/${batch.total}</progress>
  <span>${num(batch.succeeded)} succeeded · ${num(batch.dead)} dead · ${num(batch.pending)} pending of ${num(batch.total)}</span>
  <span class="muted">created ${time(batch.createdAt.getTime())}${batch.completedAt ? html`, completed ${time(batch.completedAt.getTime())}` : ''}</span>
</div>`;
}

/** /verk/batches: the batches still remembered, found by a bounded scan (there is no batch index); "continue" with the cursor. */
export async function batchesPage(ctx: PageContext): Promise<PageResult> {
  const { batches, cursor } = await ctx.data.batches(ctx.req.query.cursor || undefined);
  const body = html`
${batches.length === 0 ? html`<p class="empty">No batch found${ctx.req.query.cursor ? ' in this part of the keyspace' : ''}.</p>` : batches.map((batch) => batchProgress(ctx, batch))}
${cursor ? html`<p><a class="continue" href="${ctx.url('/batches', { cursor })}">Continue searching</a></p>` : ''}`;
  return { title: 'Batches', section: 'batches', body };
}

/** /verk/batches/:bid: one batch's counters. */
export async function batchPage(ctx: PageContext): Promise<PageResult> {
  const bid = checkJidParam(ctx.req.params.bid, 'bid');
  const batch = await ctx.data.batch(bid);
  if (!batch) throw new HttpError(404, `No batch ${bid} (unknown, or completed longer ago than flowRetention)`);
  return { title: `Batch ${bid}`, section: 'batches', body: batchProgress(ctx, batch) };
}
