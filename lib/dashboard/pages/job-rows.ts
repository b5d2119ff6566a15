import type { ListedJob } from '../../engine/admin/admin';
import { type Html, html } from '../html/html';
import { short, timeSeconds, time } from '../html/format';
import type { PageContext } from '../server/context';

interface RowOptions {
  select?: boolean;
  when?: string;
  error?: boolean;
  /** The set page's name in the URL (scheduled, retries, dead): rows then carry their score, and job links the set and score. */
  set?: string;
  /** A queue page: job links carry the queue and each job's run-order position (`offset` of the first row). */
  queue?: { name: string; offset: number };
}

/**
 * A table of listed jobs: every row carries data-jid; with `select`, a checkbox per row
 * (and one for all) feeds the selection buttons. Everything from Redis is escaped.
 */
export function jobTable(ctx: PageContext, entries: ListedJob[], options: RowOptions = {}): Html {
  if (entries.length === 0) return html`<p class="empty">No jobs.</p>`;
  return html`<table class="jobs">
<thead><tr>
  ${options.select ? html`<th class="check"><input type="checkbox" data-select-all aria-label="Select all"></th>` : ''}
  ${options.when ? html`<th>${options.when}</th>` : ''}
  <th>Job</th><th>Queue</th><th>Arguments</th>${options.error ? html`<th>Error</th>` : ''}<th>Enqueued</th>
</tr></thead>
<tbody>
${entries.map((entry, index) => jobRow(ctx, entry, options, index))}
</tbody>
</table>`;
}

function jobRow(ctx: PageContext, entry: ListedJob, options: RowOptions, index: number): Html {
  const job = entry.job;
  const jid = job?.jid ?? '';
  // The score identifies the member exactly: actions and the job page find it in one read;
  // in a queue, the position does nearly as well (the job page reads a window around it).
  const at = options.set && entry.at !== undefined ? String(entry.at) : undefined;
  const where = at ? { set: options.set, at } : options.queue ? { queue: options.queue.name, pos: options.queue.offset + index } : {};
  const href = ctx.url(`/jobs/${encodeURIComponent(jid)}`, where);
  return html`<tr data-jid="${jid}">
  ${options.select ? html`<td class="check">${jid ? html`<input type="checkbox" name="jid" value="${jid}" data-at="${at ?? ''}" aria-label="Select ${jid}">` : ''}</td>` : ''}
  ${options.when ? html`<td>${entry.at !== undefined ? time(entry.at * 1000) : '–'}</td>` : ''}
  <td>${job ? html`<a href="${href}">${job.class}</a><br><code class="jid">${jid}</code>` : html`<span class="bad">invalid payload</span>: ${entry.error ?? ''}<br><code>${short(entry.raw, 200)}</code>`}</td>
  <td>${job ? html`<a href="${ctx.url(`/queues/${encodeURIComponent(String(job.queue))}`)}">${String(job.queue)}</a>` : ''}</td>
  <td><code class="args">${job ? short(job.args, 160) : ''}</code></td>
  ${options.error ? html`<td class="error">${job?.error_class ? html`<strong>${String(job.error_class)}</strong>: ` : ''}${short(job?.error_message ?? '', 160)}</td>` : ''}
  <td>${timeSeconds(job?.enqueued_at ?? job?.created_at)}</td>
</tr>`;
}
