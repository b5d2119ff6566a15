import { html } from '../html/html';
import { num, short, time } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import { actionButton } from './layout';

/** The next run in the schedule's own zone, e.g. "2026-11-30 09:00 Europe/Berlin". */
function inZone(ms: number, zone: string): string {
  try {
    return `${new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'short' }).format(ms)} ${zone}`;
  } catch {
    return zone;
  }
}

/** /verk/recurring: every schedule with its timing, runs and catch-up policy; Enqueue now, Remove. */
export async function recurringPage(ctx: PageContext): Promise<PageResult> {
  const schedules = await ctx.data.recurring();
  const body =
    schedules.length === 0
      ? html`<p class="empty">No recurring job.</p>`
      : html`<table class="recurring"><thead><tr><th>Name</th><th>Job</th><th>Schedule</th><th>Next run</th><th>Last run</th><th class="num">Runs</th><th>Catch-up</th><th><span class="sr">Actions</span></th></tr></thead><tbody>
${schedules.map((schedule) => {
  const api = `/api/recurring/${encodeURIComponent(schedule.name)}`;
  const zone = schedule.cron ? (schedule.timezone ?? 'UTC') : undefined;
  return html`<tr data-recurring="${schedule.name}">
  <td>${schedule.name}</td>
  <td>${schedule.class} <span class="muted">in</span> <a href="${ctx.url(`/queues/${encodeURIComponent(schedule.queue)}`)}">${schedule.queue}</a><br><code class="args">${short(schedule.args, 100)}</code></td>
  <td>${schedule.cron ? html`<code>${schedule.cron}</code> <span class="muted">${zone}</span>` : html`every ${num((schedule.every ?? 0) / 1000)} s`}</td>
  <td>${schedule.nextRunAt === null ? html`<span class="muted">ended</span>` : html`${time(schedule.nextRunAt)}${zone && zone !== 'UTC' ? html`<br><span class="muted">${inZone(schedule.nextRunAt, zone)}</span>` : ''}`}</td>
  <td>${time(schedule.lastRunAt)}</td>
  <td class="num">${num(schedule.runs)}${schedule.maxRuns !== undefined ? ` / ${num(schedule.maxRuns)}` : ''}</td>
  <td>${schedule.catchUp}</td>
  <td class="actions">${actionButton(ctx, 'enqueue', 'Enqueue now', { post: `${api}/enqueue` })} ${actionButton(ctx, 'remove', 'Remove', { post: `${api}/remove`, confirm: `Remove the recurring job ${schedule.name}? Jobs it already enqueued stay.`, danger: true })}</td>
</tr>`;
})}
</tbody></table>`;
  return { title: 'Recurring', section: 'recurring', body };
}
