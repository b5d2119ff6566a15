import { html } from '../html/html';
import { num } from '../html/format';
import type { PageContext, PageResult } from '../server/context';

/**
 * /verk/metrics: throughput from the daily counters, today per queue, failures by error
 * class over a bounded sample of retry and dead. Per-class run/wait histograms appear
 * when a MetricsHistogramSource provides them (the observability work).
 */
export async function metricsPage(ctx: PageContext): Promise<PageResult> {
  const view = await ctx.data.metrics();
  const body = html`
<section class="panel"><h2>Throughput per day (30 days)</h2>
<table><thead><tr><th>Day (UTC)</th><th class="num">Processed</th><th class="num">Failed</th><th class="num">Failure rate</th></tr></thead><tbody>
${view.days.map((day) => html`<tr><td>${day.date}</td><td class="num">${num(day.processed)}</td><td class="num">${num(day.failed)}</td><td class="num">${day.processed + day.failed > 0 ? `${((100 * day.failed) / (day.processed + day.failed)).toFixed(1)} %` : '–'}</td></tr>`)}
</tbody></table></section>
<section class="panel"><h2>Today per queue</h2>
${view.queues.length === 0 ? html`<p class="empty">No queues.</p>` : html`<table><thead><tr><th>Queue</th><th class="num">Processed</th><th class="num">Failed</th></tr></thead><tbody>${view.queues.map((queue) => html`<tr><td>${queue.name}</td><td class="num">${num(queue.processed)}</td><td class="num">${num(queue.failed)}</td></tr>`)}</tbody></table>`}
</section>
<section class="panel"><h2>Failures by error class</h2>
<p class="muted">Counted over the first ${num(view.sampled)} of ${num(view.failingTotal)} jobs in retry and dead.</p>
${view.errors.length === 0 ? html`<p class="empty">No failures.</p>` : html`<table><thead><tr><th>Error class</th><th class="num">Jobs</th><th>Example message</th></tr></thead><tbody>${view.errors.map((row) => html`<tr><td>${row.errorClass} <a href="${ctx.url('/retries', { q: row.errorClass })}">in retries</a> · <a href="${ctx.url('/dead', { q: row.errorClass })}">in dead</a></td><td class="num">${num(row.count)}</td><td>${row.sampleMessage.slice(0, 200)}</td></tr>`)}</tbody></table>`}
</section>
<section class="panel"><h2>Run and wait time per job class</h2>
${
  view.histograms?.length
    ? view.histograms.map((histogram) => html`<h3>${histogram.className} (${histogram.kind})</h3><table><tbody>${histogram.buckets.map((bucket) => html`<tr><td>≤ ${bucket.le} s</td><td class="num">${num(bucket.count)}</td></tr>`)}</tbody></table>`)
    : html`<p class="muted">Per-class histograms need the metrics option (observability); not available in this version.</p>`
}
</section>`;
  return { title: 'Metrics', section: 'metrics', body };
}
