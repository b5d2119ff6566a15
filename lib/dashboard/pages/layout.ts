import { type Html, html } from '../html/html';
import type { PageContext } from '../server/context';

const SECTIONS: [string, string, string][] = [
  ['overview', '', 'Overview'],
  ['queues', '/queues', 'Queues'],
  ['busy', '/busy', 'Busy'],
  ['scheduled', '/scheduled', 'Scheduled'],
  ['retries', '/retries', 'Retries'],
  ['dead', '/dead', 'Dead'],
  ['recurring', '/recurring', 'Recurring'],
  ['batches', '/batches', 'Batches'],
  ['metrics', '/metrics', 'Metrics'],
];

/** The page around every view: header with navigation and search, our stylesheet, our one script (with the response's nonce). */
export function layout(ctx: PageContext, nonce: string, page: { title: string; body: Html; section: string }): Html {
  const home = ctx.url('') || '/';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${page.title} · Verk</title>
<link rel="stylesheet" href="${ctx.url('/assets/dashboard.css')}">
<script nonce="${nonce}" src="${ctx.url('/assets/dashboard.js')}" defer></script>
</head>
<body data-base="${ctx.base}" data-poll="${ctx.options.pollInterval}" data-readonly="${ctx.options.readOnly ? 'true' : 'false'}">
<header class="top">
  <a class="brand" href="${home}">Verk</a>
  <nav aria-label="Sections">
    ${SECTIONS.map(([id, path, label]) => html`<a href="${ctx.url(path) || '/'}"${id === page.section ? html` aria-current="page"` : ''}>${label}</a>`)}
  </nav>
  <form class="search" role="search" method="get" action="${ctx.url('/search')}">
    <label class="sr" for="verk-search">Search by jid or tag</label>
    <input id="verk-search" name="q" type="search" placeholder="jid or tag" value="${ctx.req.query.q ?? ''}" autocomplete="off">
    <button type="submit">Search</button>
  </form>
  ${ctx.options.readOnly ? html`<span class="badge">read-only</span>` : ''}
</header>
<main id="main">
<h1>${page.title}</h1>
<p class="flash" id="flash" role="status" aria-live="polite" hidden></p>
${page.body}
</main>
</body>
</html>
`;
}

/** An action button: a real <button> with its label, rendered only when the viewer may take the action. */
export function actionButton(ctx: PageContext, action: Parameters<PageContext['allowed']['has']>[0], label: string, attributes: { post: string; confirm?: string; body?: Record<string, unknown>; selection?: boolean; danger?: boolean }): Html {
  if (!ctx.allowed.has(action)) return html``;
  return html`<button type="button" class="${attributes.danger ? 'danger' : ''}" data-post="${attributes.post}"${attributes.confirm ? html` data-confirm="${attributes.confirm}"` : ''}${attributes.body ? html` data-body="${JSON.stringify(attributes.body)}"` : ''}${attributes.selection ? html` data-selection="true"` : ''}>${label}</button>`;
}

/** Pager links: previous / next and the page size choice (25, 50, 100). */
export function pager(ctx: PageContext, path: string, offset: number, limit: number, total: number, query: Record<string, string | undefined> = {}): Html {
  const prev = offset > 0 ? ctx.url(path, { ...query, offset: Math.max(0, offset - limit), limit }) : undefined;
  const next = offset + limit < total ? ctx.url(path, { ...query, offset: offset + limit, limit }) : undefined;
  return html`<nav class="pager" aria-label="Pages">
    ${prev ? html`<a href="${prev}" rel="prev">← Previous</a>` : html`<span class="muted">← Previous</span>`}
    <span>${total === 0 ? '0' : `${(offset + 1).toLocaleString('en-US')}–${Math.min(offset + limit, total).toLocaleString('en-US')}`} of ${total.toLocaleString('en-US')}</span>
    ${next ? html`<a href="${next}" rel="next">Next →</a>` : html`<span class="muted">Next →</span>`}
    <span class="sizes">Per page: ${[25, 50, 100].map((size) => (size === limit ? html`<strong>${size}</strong> ` : html`<a href="${ctx.url(path, { ...query, offset: 0, limit: size })}">${size}</a> `))}</span>
  </nav>`;
}

/** offset and limit (25, 50 or 100) from the query string. */
export function pageOf(ctx: PageContext): { offset: number; limit: number } {
  const limit = [25, 50, 100].includes(Number(ctx.req.query.limit)) ? Number(ctx.req.query.limit) : 25;
  const offset = Math.max(0, Math.floor(Number(ctx.req.query.offset) || 0));
  return { offset, limit };
}
