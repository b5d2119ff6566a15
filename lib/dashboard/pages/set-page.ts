import type { JobSet } from '../../engine/admin/admin';
import { html } from '../html/html';
import { num } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import type { JobFilter } from '../data/data-source';
import { isFiltered } from '../data/engine-data-source';
import { jobTable } from './job-rows';
import { actionButton, pageOf, pager } from './layout';

const TITLES: Record<JobSet, [string, string, string]> = {
  schedule: ['Scheduled', 'scheduled', 'Runs'],
  retry: ['Retries', 'retries', 'Next retry'],
  dead: ['Dead', 'dead', 'Died'],
};

/** The filter of a set page, from its query string (bookmarkable). */
export function filterOf(ctx: PageContext): JobFilter {
  const q = ctx.req.query;
  return { class: q.class || undefined, queue: q.queue || undefined, text: q.q || undefined, cursor: q.cursor || undefined };
}

/**
 * /verk/scheduled, /verk/retries, /verk/dead: a page by score, or, with a filter, the
 * matches of one bounded scan and a "continue searching" link; select rows for Retry now /
 * Delete / Kill; Retry all / Delete all with confirmation.
 */
export async function setPage(ctx: PageContext, set: JobSet): Promise<PageResult> {
  const [title, path, when] = TITLES[set];
  const { offset, limit } = pageOf(ctx);
  const filter = filterOf(ctx);
  const filtered = isFiltered(filter);
  const list = await ctx.data.setJobs(set, { offset, limit }, filter);
  const api = `/api/sets/${path}`;
  const query = { class: filter.class, queue: filter.queue, q: filter.text };
  const body = html`
<form class="filter" method="get" action="${ctx.url(`/${path}`)}" role="search" aria-label="Filter ${title}">
  <label>Class <input name="class" value="${filter.class ?? ''}" autocomplete="off"></label>
  <label>Queue <input name="queue" value="${filter.queue ?? ''}" autocomplete="off"></label>
  <label>Text in args or error <input name="q" value="${filter.text ?? ''}" autocomplete="off"></label>
  <input type="hidden" name="limit" value="${limit}">
  <button type="submit">Filter</button>
  ${filtered ? html`<a href="${ctx.url(`/${path}`, { limit })}">Clear filter</a>` : ''}
</form>
<div class="toolbar">
  ${actionButton(ctx, 'retry', 'Retry now', { post: `${api}/retry`, selection: true })}
  ${actionButton(ctx, 'delete', 'Delete', { post: `${api}/delete`, selection: true, danger: true })}
  ${set !== 'dead' ? actionButton(ctx, 'kill', 'Kill', { post: `${api}/kill`, selection: true, danger: true }) : ''}
  <span class="spacer"></span>
  ${actionButton(ctx, 'retry', 'Retry all', { post: `${api}/retry-all`, confirm: `Retry all ${num(list.total)} jobs of ${title}?` })}
  ${actionButton(ctx, 'delete', 'Delete all', { post: `${api}/delete-all`, confirm: `Delete all ${num(list.total)} jobs of ${title}? This cannot be undone.`, danger: true })}
</div>
${
  filtered
    ? html`<p class="summary" data-scanned="${list.scanned ?? 0}">${num(list.jobs.length)} match(es) in ${num(list.scanned ?? 0)} of ${num(list.total)} jobs looked at${filter.cursor ? ' (continued)' : ''}.
  ${list.nextCursor ? html`<a class="continue" href="${ctx.url(`/${path}`, { ...query, limit, cursor: list.nextCursor })}">Continue searching</a>` : html`<span class="muted">End of the set.</span>`}</p>`
    : ''
}
${jobTable(ctx, list.jobs, { select: ctx.allowed.size > 0, when, error: set !== 'schedule', set: path })}
${filtered ? '' : pager(ctx, `/${path}`, offset, limit, list.total)}`;
  return { title, section: path, body };
}
