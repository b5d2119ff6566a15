/**
 * Sidekiq 8's rule for every mutating request: the browser must say it comes from this
 * site (`Sec-Fetch-Site: same-origin`), or, from a client that sends no fetch metadata,
 * an `Origin` whose host is the `Host` the request was sent to. Anything else (another
 * site, a form posted from elsewhere, no header at all) is refused, so no CSRF token is
 * needed.
 */
export function isSameOrigin(headers: Record<string, string | undefined>): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = headers.origin;
  const host = headers.host;
  if (!origin || !host || origin === 'null') return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
