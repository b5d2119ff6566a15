import { type Html, html } from '../html/html';
import { bucketBars, ms } from '../html/charts';
import { num } from '../html/format';
import { classParam, periodParam } from '../api/params';
import type { ClassMetricsPoint } from '../../engine/class-metrics/class-metrics-reader';
import type { ClassMetricsView } from '../data/data-source';
import type { PageContext, PageResult } from '../server/context';

/**
 * The Metrics page's job classes (Sidekiq 7's Metrics): per class over the last 1 h or
 * 8 h (?period=60|480), from engine.admin.classMetrics, and one class's page (?class=).
 */

export const periodOf = (ctx: PageContext): 60 | 480 => periodParam(ctx.req.query.period);
export const classOf = (ctx: PageContext): string | undefined => classParam(ctx.req.query.class);

const periodName = (minutes: number): string => (minutes === 480 ? '8 h' : '1 h');

const percent = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '–');

/** The 1 h / 8 h switch: links, so the choice is in the URL (bookmarkable). */
function periodLinks(ctx: PageContext, period: number, className?: string): Html {
  return html`<nav class="controls period" aria-label="Period">${[60, 480].map((minutes) => html`<a href="${ctx.url('/metrics', { period: minutes, class: className })}" data-period="${minutes}"${minutes === period ? html` aria-current="page"` : ''}>Last ${periodName(minutes)}</a>`)}</nav>`;
}

/** Said instead of empty charts when this node does not record and nothing was recorded. */
function notRecorded(view: ClassMetricsView): Html | undefined {
  if (view.recording || view.series.some((point) => point.processed > 0)) return undefined;
  return html`<p class="empty" data-class-metrics="off">Not recorded: enable <code>histograms: true</code> (VerkModule options) to record run times, wait times and throughput per job class.</p>`;
}

/** Executions per minute as stacked bars (finished, then failed on top), oldest on the left. */
function seriesChart(series: readonly ClassMetricsPoint[], label: string): Html {
  const width = 720;
  const height = 120;
  const top = 14;
  const step = width / Math.max(1, series.length);
  const bar = Math.max(0.6, step - (step > 4 ? 1 : 0.2));
  const max = Math.max(1, ...series.map((point) => point.processed));
  const hhmm = (iso: string | undefined): string => (iso ? iso.slice(11, 16) : '');
  return html`<svg class="history" id="class-series" data-minutes="${series.length}" viewBox="0 0 ${width} ${top + height + 20}" role="img" aria-label="${label}">
<text class="axis" x="0" y="10">${num(max)} / min</text>
${series.map((point, i) => {
  const failed = (point.failed / max) * height;
  const finished = ((point.processed - point.failed) / max) * height;
  const x = (i * step).toFixed(1);
  return html`<g data-minute="${point.minute}" data-processed="${point.processed}"><title>${hhmm(point.minute)} UTC: ${num(point.processed)} run, ${num(point.failed)} failed</title><rect class="processed" x="${x}" y="${(top + height - finished - failed).toFixed(1)}" width="${bar.toFixed(1)}" height="${finished.toFixed(1)}"></rect><rect class="failed" x="${x}" y="${(top + height - failed).toFixed(1)}" width="${bar.toFixed(1)}" height="${failed.toFixed(1)}"></rect></g>`;
})}
<text x="0" y="${top + height + 16}" class="axis">${hhmm(series[0]?.minute)} UTC</text><text x="${width}" y="${top + height + 16}" class="axis end">${hhmm(series[series.length - 1]?.minute)} UTC</text>
</svg>
<p class="legend"><span class="key processed"></span> finished <span class="key failed"></span> failed, per minute</p>`;
}

/** The section of the Metrics page: a row per class, largest total run time first. */
export function classMetricsSection(ctx: PageContext, view: ClassMetricsView): Html {
  const off = notRecorded(view);
  const head = html`<div class="panel-head"><h2 id="classes-title">Job classes, last ${periodName(view.minutes)}</h2>${periodLinks(ctx, view.minutes)}</div>`;
  if (off) return html`<section class="panel" id="job-classes" aria-labelledby="classes-title">${head}${off}</section>`;
  return html`<section class="panel" id="job-classes" aria-labelledby="classes-title">${head}
${view.classes.length === 0 ? html`<p class="empty">No job ran in the last ${periodName(view.minutes)}.</p>` : html`${seriesChart(view.series, `Jobs run per minute, last ${periodName(view.minutes)}`)}
<table><thead><tr><th>Job class</th><th class="num">Processed</th><th class="num">Failed</th><th class="num">Failure rate</th><th class="num">Mean run</th><th class="num">p95 run</th><th class="num">Mean wait</th><th class="num">Total run time</th></tr></thead><tbody>
${view.classes.map((row) => html`<tr data-class="${row.class}"><td><a href="${ctx.url('/metrics', { class: row.class, period: view.minutes })}">${row.class}</a></td><td class="num" data-processed>${num(row.processed)}</td><td class="num" data-failed>${num(row.failed)}</td><td class="num" data-failure-rate>${percent(row.failed, row.processed)}</td><td class="num" data-mean-run>${ms(row.runMs.mean)}</td><td class="num" data-p95-run>${ms(row.runMs.p95)}</td><td class="num" data-mean-wait>${row.waitMs.count > 0 ? ms(row.waitMs.mean) : '–'}</td><td class="num">${ms(row.totalRunMs)}</td></tr>`)}
</tbody></table>
<p class="muted">p95 is estimated from the histogram buckets; failed runs count as processed too.</p>`}
</section>`;
}

/** /verk/metrics?class=<name>: one class's runs per minute and its run and wait histograms. */
export async function classMetricsPage(ctx: PageContext, className: string, period: 60 | 480): Promise<PageResult> {
  const view = await ctx.data.classMetrics(period, className);
  const row = view.classes[0];
  const off = notRecorded(view);
  const body = html`<p><a href="${ctx.url('/metrics', { period })}">← All metrics</a></p>
<section class="panel" id="class-metrics" data-class="${className}" aria-labelledby="class-title"><div class="panel-head"><h2 id="class-title">${className}, last ${periodName(period)}</h2>${periodLinks(ctx, period, className)}</div>
${off ?? (row === undefined ? html`<p class="empty">No run of ${className} in the last ${periodName(period)}.</p>` : html`<p class="class-summary"><strong data-processed>${num(row.processed)}</strong> runs · <strong data-failed>${num(row.failed)}</strong> failed (${percent(row.failed, row.processed)}) · run mean ${ms(row.runMs.mean)}, p50 ${ms(row.runMs.p50)}, p95 ${ms(row.runMs.p95)}, p99 ${ms(row.runMs.p99)} · wait mean ${row.waitMs.count > 0 ? ms(row.waitMs.mean) : '–'}</p>
${seriesChart(view.series, `Runs of ${className} per minute`)}
<div class="hist-pair">${(['run', 'wait'] as const).map((kind) => {
  const buckets = view.histogram?.[kind] ?? [];
  const count = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  return html`<figure class="hist" data-kind="${kind}" data-count="${count}"><figcaption><strong>${kind === 'run' ? 'Run time' : 'Wait time'}</strong>: ${num(count)} ${kind === 'run' ? 'runs' : 'jobs'}</figcaption>${count === 0 ? '' : bucketBars(buckets, `${kind === 'run' ? 'Run time' : 'Wait time'} histogram of ${className}`)}</figure>`;
})}</div>`)}
</section>`;
  return { title: `Metrics · ${className}`, section: 'metrics', body };
}
