import { type Html, html } from '../html/html';
import type { DurationHistogram } from '../../engine/admin/histograms';
import { bucketBars, ms } from '../html/charts';
import { classMetricsPage, classMetricsSection, classOf, periodOf } from './class-metrics';
import { dateOf } from '../api/api-routes';
import { num } from '../html/format';
import type { PageContext, PageResult } from '../server/context';

/**
 * One day's histogram of a queue as an SVG bar chart: a bar per bucket with its count
 * above it and its bound below, then count, mean, min and max. Attributes only (x, y,
 * width, height, class): nothing the nonce CSP blocks.
 */
function histogramChart(queue: string, kind: 'run' | 'wait', label: string, histogram: DurationHistogram): Html {
  return html`<figure class="hist" data-queue="${queue}" data-kind="${kind}" data-count="${histogram.count}">
<figcaption><strong>${label}</strong>: ${num(histogram.count)} jobs${histogram.count > 0 ? html` · mean ${ms(histogram.mean)} · min ${ms(histogram.min)} · max ${ms(histogram.max)}` : ''}</figcaption>
${histogram.count === 0 ? '' : bucketBars(histogram.buckets, `${label} histogram of ${queue}`)}</figure>`;
}

/**
 * /verk/metrics: throughput from the daily counters, today per queue, failures by error
 * class over a bounded sample of retry and dead, and each queue's run and wait time
 * histograms of one UTC day (?date=YYYY-MM-DD, default today) from admin.queueStats, and
 * the job classes of the last 1 h / 8 h (?period=60|480; ?class=<name>: one class's page).
 */
export async function metricsPage(ctx: PageContext): Promise<PageResult> {
  const period = periodOf(ctx);
  const className = classOf(ctx);
  if (className !== undefined) return classMetricsPage(ctx, className, period);
  const [view, classes] = await Promise.all([ctx.data.metrics(dateOf(ctx)), ctx.data.classMetrics(period)]);
  const body = html`
${classMetricsSection(ctx, classes)}
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
