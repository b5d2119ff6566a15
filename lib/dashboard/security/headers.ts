import { randomBytes } from 'node:crypto';

/** A fresh nonce per response: the only scripts that run are the ones carrying it. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * Headers of every dashboard response. The policy allows our own stylesheet and images,
 * scripts only with this response's nonce (so no inline handler and no injected script
 * runs), requests to our own origin, and no framing.
 */
export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  };
}
