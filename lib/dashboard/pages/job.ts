import { type Html, html } from '../html/html';
import { time } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import { checkJidParam, hintOfQuery } from '../api/params';
import { num } from '../html/format';
import { actionButton } from './layout';
import { batchProgress } from './batches';
import type { JobState } from '../../engine/flow/flow-admin';

const SET_OF_STATE: Partial<Record<JobState, string>> = { scheduled: 'schedule', retry: 'retry', dead: 'dead' };

/** /verk/jobs/:jid: where the job is, its payload, error, history, dependencies, batch, tags, and what can be done to it. */
export async function jobPage(ctx: PageContext): Promise<PageResult> {
  const jid = checkJidParam(ctx.req.params.jid);
  const cursor = ctx.req.query.cursor || undefined;
  const view = await ctx.data.job(jid, { hint: cursor ? undefined : hintOfQuery(ctx.req.query), cursor });
  const { status, hint } = view;
  const job = status.job;
  const api = `/api/jobs/${encodeURIComponent(jid)}`;
  const set = SET_OF_STATE[status.state];
  // Actions carry where the job was found (a set's score, a node, a queue position): one exact read.
  const at: Record<string, number> = hint && 'set' in hint && hint.set === set ? { at: hint.at } : {};
  const located = hint ? { hint } : {};
  const link = (other: string): Html => html`<a href="${ctx.url(`/jobs/${encodeURIComponent(other)}`)}"><code>${other}</code></a>`;
  const backtrace = job?.error_backtrace;
  const actions = html`
${set ? actionButton(ctx, 'retry', 'Retry now', { post: `${api}/retry`, body: { from: set, ...at } }) : ''}
${set === 'schedule' || set === 'retry' ? actionButton(ctx, 'kill', 'Kill', { post: `${api}/kill`, body: { from: set, ...at }, confirm: `Move job ${jid} to dead?`, danger: true }) : ''}
${status.state === 'running' ? actionButton(ctx, 'cancel', 'Cancel', { post: `${api}/cancel`, body: located, confirm: `Cancel running job ${jid}?`, danger: true }) : ''}
${['waiting', 'scheduled', 'retry', 'dead', 'blocked'].includes(status.state) ? actionButton(ctx, 'delete', 'Delete', { post: `${api}/delete`, body: located, confirm: `Delete job ${jid}?`, danger: true }) : ''}
${
  ctx.allowed.has('move') && ['waiting', 'scheduled', 'retry', 'dead', 'blocked', 'running'].includes(status.state)
    ? html`<form class="inline" data-post-form="${api}/move" data-body="${JSON.stringify(located)}"><label>Move to queue <input name="queue" required pattern="\\S+" value="" size="12"></label> <button type="submit">Move</button></form>`
    : ''
}
${
  ctx.allowed.has('priority') && status.state === 'waiting'
    ? html`<form class="inline" data-post-form="${api}/priority" data-body="${JSON.stringify(located)}"><label>Priority <input name="priority" type="number" min="-1000" max="1000" step="1" value="${String(job?.priority ?? 0)}"></label> <button type="submit">Set priority</button></form>`
    : ''
}`;
  const body = html`
<dl class="facts" data-jid="${jid}">
  <dt>State</dt><dd><span class="badge state-${status.state}" data-state="${status.state}">${status.state}</span></dd>
  ${job ? html`<dt>Class</dt><dd>${job.class}</dd>` : ''}
  ${status.queue ? html`<dt>Queue</dt><dd><a href="${ctx.url(`/queues/${encodeURIComponent(status.queue)}`)}">${status.queue}</a></dd>` : ''}
  ${status.nodeId ? html`<dt>Node</dt><dd><code>${status.nodeId}</code></dd>` : ''}
  ${status.at ? html`<dt>${status.state === 'dead' ? 'Died' : status.state === 'finished' ? 'Finished' : 'Due'}</dt><dd>${time(status.at.getTime())}</dd>` : ''}
  ${job?.priority !== undefined ? html`<dt>Priority</dt><dd>${String(job.priority)}</dd>` : ''}
  ${job?.retry_count !== undefined ? html`<dt>Retries</dt><dd>${String(job.retry_count)}</dd>` : ''}
  ${view.tags.length > 0 ? html`<dt>Tags</dt><dd>${view.tags.map((tag) => html`<a class="tag" href="${ctx.url('/search', { q: tag })}">${tag}</a> `)}</dd>` : ''}
</dl>
<div class="toolbar">${actions}</div>
${
  job?.error_message !== undefined || job?.error_class !== undefined
    ? html`<section class="panel error-panel"><h2>Error</h2><p><strong>${String(job?.error_class ?? '')}</strong>: ${String(job?.error_message ?? '')}</p>
${backtrace ? html`<details open><summary>Backtrace</summary><pre>${Array.isArray(backtrace) ? backtrace.map(String).join('\n') : String(backtrace)}</pre></details>` : ''}</section>`
    : ''
}
${
  view.nextCursor
    ? html`<p class="searching" data-searching>Not found yet: ${num(view.scanned ?? 0)} stored jobs searched (a bounded amount per request). <a href="${ctx.url(`/jobs/${encodeURIComponent(jid)}`, { cursor: view.nextCursor })}" data-continue>Continue searching</a></p>`
    : ''
}
${
  job
    ? html`<section class="panel"><h2>Payload</h2>
<pre class="payload" data-raw>${view.raw ?? JSON.stringify(job)}</pre>
<details><summary>Formatted</summary><pre class="payload-formatted">${JSON.stringify(job, null, 2)}</pre></details></section>`
    : view.nextCursor
      ? ''
      : html`<p class="empty">The job is stored nowhere now (${status.state}).</p>`
}
${
  status.waitingFor?.length || status.dependents.length
    ? html`<section class="panel"><h2>Dependencies</h2>
${status.waitingFor?.length ? html`<p>Waiting for: ${status.waitingFor.map((dep) => html`${link(dep.jid)} <span class="badge state-${dep.state}">${dep.state}</span> `)}</p>` : ''}
${status.dependents.length ? html`<p>Jobs waiting for it: ${status.dependents.map((other) => html`${link(other)} `)}</p>` : ''}</section>`
    : ''
}
${view.batch ? html`<section class="panel"><h2>Batch</h2>${batchProgress(ctx, view.batch)}</section>` : ''}
${
  status.history?.length
    ? html`<section class="panel"><h2>History</h2><ol class="timeline">
${status.history.map(
  (event) =>
    html`<li data-event="${event.event}"><span class="event">${event.event}</span> ${time(event.at)} on <code>${event.node}</code>${event.queue ? html` in ${event.queue}` : ''}${event.error ? html` — <strong>${event.error.class}</strong>: ${event.error.message}` : ''}${event.durationMs !== undefined ? html` (${event.durationMs} ms)` : ''}${event.from ? html` from ${event.from}` : ''}${event.to ? html` to ${event.to}` : ''}${event.tags?.length ? html` tags ${event.tags.join(', ')}` : ''}</li>`,
)}
</ol></section>`
    : html`<p class="muted">No history recorded for this job (history is off for its queue, or it was trimmed).</p>`
}`;
  return { title: `Job ${jid}`, section: SET_OF_STATE[status.state] === 'schedule' ? 'scheduled' : status.state === 'retry' ? 'retries' : status.state === 'dead' ? 'dead' : 'queues', body };
}
