import { type Html, html } from '../html/html';
import type { DurationHistogram } from '../../engine/admin/histograms';
import { dateOf } from '../api/api-routes';
import { num } from '../html/format';
import type { PageContext, PageResult } from '../server/context';

/** A duration in ms as "850 ms", "1.2 s", "3 min". */
function ms(value: number): string {
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${Number((value / 1000).toFixed(1))} s`;
  if (value < 3_600_000) return `${Number((value / 60_000).toFixed(1))} min`;
  return `${Number((value / 3_600_000).toFixed(1))} h`;
}

/**
 * One day's histogram of a queue as an SVG bar chart: a bar per bucket with its count
 * above it and its bound below, then count, mean, min and max. Attributes only (x, y,
 * width, height, class): nothing the nonce CSP blocks.
 */
function histogramChart(queue: string, kind: 'run' | 'wait', label: string, histogram: DurationHistogram): Html {
  const width = 640;
  const height = 120;
  const top = 14;
  const buckets = histogram.buckets;
  const step = width / Math.max(1, buckets.length);
  const max = Math.max(1, ...buckets.map((bucket) => bucket.count));
  return html`<figure class="hist" data-queue="${queue}" data-kind="${kind}" data-count="${histogram.count}">
<figcaption><strong>${label}</strong>: ${num(histogram.count)} jobs${histogram.count > 0 ? html` · mean ${ms(histogram.mean)} · min ${ms(histogram.min)} · max ${ms(histogram.max)}` : ''}</figcaption>
${histogram.count === 0 ? '' : html`<svg class="histogram" viewBox="0 0 ${width} ${height + top + 18}" role="img" aria-label="${label} histogram of ${queue}">
${buckets.map((bucket, i) => {
  const h = (bucket.count / max) * height;
  const x = i * step;
  const bound = bucket.le === null ? `> ${ms(buckets[i - 1]?.le ?? 0)}` : `≤ ${ms(bucket.le)}`;
  return html`<g><title>${bound}: ${num(bucket.count)}</title><rect class="bar" x="${(x + 1).toFixed(1)}" y="${(top + height - h).toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${h.toFixed(1)}" data-count="${bucket.count}"></rect>${bucket.count > 0 ? html`<text class="count" x="${(x + step / 2).toFixed(1)}" y="${(top + height - h - 3).toFixed(1)}" text-anchor="middle">${num(bucket.count)}</text>` : ''}${i % 2 === 0 || buckets.length <= 10 ? html`<text class="axis" x="${(x + step / 2).toFixed(1)}" y="${top + height + 13}" text-anchor="middle">${bucket.le === null ? '∞' : ms(bucket.le)}</text>` : ''}</g>`;
})}
</svg>`}</figure>`;
}

/**
 * /verk/metrics: throughput from the daily counters, today per queue, failures by error
 * class over a bounded sample of retry and dead, and each queue's run and wait time
 * histograms of one UTC day (?date=YYYY-MM-DD, default today) from admin.queueStats.
 */
export async function metricsPage(ctx: PageContext): Promise<PageResult> {
  const view = await ctx.data.metrics(dateOf(ctx));
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
<section class="panel" aria-labelledby="hist-title"><div class="panel-head"><h2 id="hist-title">Run and wait times per queue, ${view.date} (UTC)</h2>
<form class="controls" method="get" action="${ctx.url('/metrics')}"><label>Day <input type="date" name="date" value="${view.date}"></label> <button type="submit">Show</button></form></div>
${view.histograms.length === 0 ? html`<p class="empty">No queues.</p>` : view.histograms.map((row) => html`<h3>${row.name}</h3><div class="hist-pair">${histogramChart(row.name, 'run', 'Run time', row.histograms.run)}${histogramChart(row.name, 'wait', 'Wait time', row.histograms.wait)}</div>`)}
</section>`;
  return { title: 'Metrics', section: 'metrics', body };
}
