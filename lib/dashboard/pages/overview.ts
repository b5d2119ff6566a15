import { type Html, html } from '../html/html';
import { num } from '../html/format';
import type { DayStats } from '../../engine/admin/stats';
import type { PageContext, PageResult } from '../server/context';
import { duration } from './queues';

const HISTORY_DAYS = [7, 30, 90, 180];

/** /verk: counters (live), the live chart, the daily history, queues at a glance. */
export async function overviewPage(ctx: PageContext): Promise<PageResult> {
  const days = HISTORY_DAYS.includes(Number(ctx.req.query.days)) ? Number(ctx.req.query.days) : 7;
  // Queues at a glance: one engine.browse.queues call (sizes, running, today's counters).
  const [stats, queues] = await Promise.all([ctx.data.overview(days), ctx.data.queues()]);
  const card = (key: string, label: string, value: number, href?: string): Html =>
    html`<div class="card"><div class="label">${href ? html`<a href="${ctx.url(href)}">${label}</a>` : label}</div><div class="value" data-stat="${key}">${num(value)}</div></div>`;
  const body = html`
<section class="cards" aria-label="Counters">
  ${card('processed', 'Processed', stats.processed)}
  ${card('failed', 'Failed', stats.failed)}
  ${card('processedToday', 'Processed today', stats.today.processed)}
  ${card('failedToday', 'Failed today', stats.today.failed)}
  ${card('enqueued', 'Enqueued', stats.enqueued, '/queues')}
  ${card('busy', 'Busy', stats.inProgress, '/busy')}
  ${card('scheduled', 'Scheduled', stats.scheduled, '/scheduled')}
  ${card('retries', 'Retries', stats.retries, '/retries')}
  ${card('dead', 'Dead', stats.dead, '/dead')}
  ${card('blocked', 'Blocked', stats.blocked)}
  ${card('nodes', 'Nodes alive', stats.nodes.length, '/busy')}
</section>
<section class="panel" aria-labelledby="live-title">
  <div class="panel-head">
    <h2 id="live-title">Live: jobs per second</h2>
    <div class="controls">
      <label for="poll-seconds">Every <output id="poll-label" for="poll-seconds">${ctx.options.pollInterval / 1000}</output> s</label>
      <input id="poll-seconds" type="range" min="2" max="20" step="1" value="${ctx.options.pollInterval / 1000}">
      <button type="button" id="poll-toggle" aria-pressed="false">Stop polling</button>
    </div>
  </div>
  <svg id="live-chart" class="live" viewBox="0 0 900 180" role="img" aria-label="Processed and failed jobs per second, live">
    <line class="grid" x1="0" y1="45" x2="900" y2="45"></line><line class="grid" x1="0" y1="90" x2="900" y2="90"></line><line class="grid" x1="0" y1="135" x2="900" y2="135"></line>
    <polyline class="processed" points="" fill="none"></polyline><polyline class="failed" points="" fill="none"></polyline>
    <text class="axis" id="live-max" x="4" y="14"></text>
    <text class="axis" id="live-wait" x="450" y="95" text-anchor="middle">Measuring: the first rate needs two polls</text>
  </svg>
  <p class="legend"><span class="key processed"></span> processed <span class="key failed"></span> failed <span class="sep">·</span> <span class="muted">last:</span> <span id="live-rate">–</span></p>
</section>
<section class="panel" aria-labelledby="history-title">
  <div class="panel-head">
    <h2 id="history-title">History: ${days} days</h2>
    <div class="controls">${HISTORY_DAYS.map((n) => (n === days ? html`<strong>${n} days</strong> ` : html`<a href="${ctx.url('', { days: n })}">${n} days</a> `))}</div>
  </div>
  ${historyChart(stats.days, days)}
</section>
<section class="panel" id="glance" aria-labelledby="glance-title">
  <h2 id="glance-title">Queues at a glance</h2>
  ${
    queues.length === 0
      ? html`<p class="empty">No queues yet.</p>`
      : html`<table><thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Latency</th><th class="num">Running</th><th class="num">Processed today</th><th class="num">Failed today</th></tr></thead><tbody>
  ${queues.map((queue) => html`<tr data-queue="${queue.name}"><td><a href="${ctx.url(`/queues/${encodeURIComponent(queue.name)}`)}">${queue.name}</a>${queue.paused ? html` <span class="badge warn">paused</span>` : ''}</td><td class="num">${num(queue.waiting)}</td><td class="num">${duration(queue.latency)}</td><td class="num">${num(queue.running)}</td><td class="num" data-processed-today>${num(queue.today.processed)}</td><td class="num" data-failed-today>${num(queue.today.failed)}</td></tr>`)}
  </tbody></table>`
  }
</section>`;
  return { title: 'Overview', section: 'overview', body };
}

/**
 * Daily processed/failed as an SVG bar chart (attributes only: nothing the CSP blocks).
 * The page's script redraws it from each poll of /api/stats?days=N, so today's bar grows
 * while jobs run (dashboard.js draws the same layout).
 */
function historyChart(days: DayStats[], count: number): Html {
  const ordered = [...days].reverse();
  const width = 900;
  const height = 160;
  const max = Math.max(1, ...ordered.map((day) => day.processed + day.failed));
  const step = width / ordered.length;
  const bar = Math.max(1, step * 0.8);
  return html`<svg class="history" id="history-chart" data-days="${count}" viewBox="0 0 ${width} ${height + 20}" role="img" aria-label="Processed and failed per day">
${ordered.map((day, i) => {
  const p = (day.processed / max) * height;
  const f = (day.failed / max) * height;
  const x = (i * step).toFixed(1);
  return html`<g data-date="${day.date}"><title>${day.date}: ${num(day.processed)} processed, ${num(day.failed)} failed</title><rect class="processed" x="${x}" y="${(height - p - f).toFixed(1)}" width="${bar.toFixed(1)}" height="${p.toFixed(1)}"></rect><rect class="failed" x="${x}" y="${(height - f).toFixed(1)}" width="${bar.toFixed(1)}" height="${f.toFixed(1)}"></rect></g>`;
})}
<text x="0" y="${height + 16}" class="axis">${ordered[0]?.date ?? ''}</text><text x="${width}" y="${height + 16}" class="axis end">${ordered[ordered.length - 1]?.date ?? ''}</text>
</svg>`;
}
