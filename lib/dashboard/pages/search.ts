import { html } from '../html/html';
import { num } from '../html/format';
import type { PageContext, PageResult } from '../server/context';
import { pageOf, pager } from './layout';

/** /verk/search?q=: a jid opens its job page; anything else is looked up as a tag (jobsByTag). */
export async function searchPage(ctx: PageContext): Promise<PageResult> {
  const q = (ctx.req.query.q ?? '').trim();
  if (!q) return { title: 'Search', section: '', body: html`<p>Type a job id or a tag in the search box.</p>` };
  const jobPage = ctx.url(`/jobs/${encodeURIComponent(q)}`);
  // A jid (24 hex digits, as this module makes them) opens its job page, which looks it up in bounded steps.
  if (/^[0-9a-f]{24}$/.test(q)) return { redirect: jobPage };
  const { offset, limit } = pageOf(ctx);
  const tagged = /\s/.test(q) ? { total: 0, jids: [] } : await ctx.data.tagged(q, { offset, limit });
  // No such tag: another system's jid, perhaps (the job page says whether it is stored).
  if (tagged.total === 0 && offset === 0 && !/\s/.test(q)) return { redirect: jobPage };
  const body = html`
<p>${num(tagged.total)} job(s) tagged <span class="tag">${q}</span>.${/\s/.test(q) ? '' : html` <a href="${jobPage}">Look for a job with id ${q}</a>`}</p>
${tagged.jids.length ? html`<table class="jobs"><tbody>${tagged.jids.map((jid) => html`<tr data-jid="${jid}"><td><a href="${ctx.url(`/jobs/${encodeURIComponent(jid)}`)}"><code>${jid}</code></a></td></tr>`)}</tbody></table>` : ''}
${pager(ctx, '/search', offset, limit, tagged.total, { q })}`;
  return { title: `Search: ${q}`, section: '', body };
}
