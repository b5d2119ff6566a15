import type { HistogramBucket } from '../../engine/admin/histograms';
import { type Html, html } from './html';
import { num } from './format';

/**
 * Charts of the Metrics pages, as SVG with attributes only (x, y, width, height, class):
 * nothing the nonce CSP blocks, no script.
 */

/** A duration in ms as "850 ms", "1.2 s", "3 min". */
export function ms(value: number): string {
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${Number((value / 1000).toFixed(1))} s`;
  if (value < 3_600_000) return `${Number((value / 60_000).toFixed(1))} min`;
  return `${Number((value / 3_600_000).toFixed(1))} h`;
}

/** The bars of a histogram's buckets (every bucket, zeros included): count above each bar, bound below. */
export function bucketBars(buckets: readonly HistogramBucket[], ariaLabel: string): Html {
  const width = 640;
  const height = 120;
  const top = 14;
  const step = width / Math.max(1, buckets.length);
  const max = Math.max(1, ...buckets.map((bucket) => bucket.count));
  return html`<svg class="histogram" viewBox="0 0 ${width} ${height + top + 18}" role="img" aria-label="${ariaLabel}">
${buckets.map((bucket, i) => {
  const h = (bucket.count / max) * height;
  const x = i * step;
  const bound = bucket.le === null ? `> ${ms(buckets[i - 1]?.le ?? 0)}` : `≤ ${ms(bucket.le)}`;
  return html`<g><title>${bound}: ${num(bucket.count)}</title><rect class="bar" x="${(x + 1).toFixed(1)}" y="${(top + height - h).toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${h.toFixed(1)}" data-count="${bucket.count}"></rect>${bucket.count > 0 ? html`<text class="count" x="${(x + step / 2).toFixed(1)}" y="${(top + height - h - 3).toFixed(1)}" text-anchor="middle">${num(bucket.count)}</text>` : ''}${i % 2 === 0 || buckets.length <= 10 ? html`<text class="axis" x="${(x + step / 2).toFixed(1)}" y="${top + height + 13}" text-anchor="middle">${bucket.le === null ? '∞' : ms(bucket.le)}</text>` : ''}</g>`;
})}
</svg>`;
}

