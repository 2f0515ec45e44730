/**
 * A fixed-bucket latency histogram that merges across workers: 10 µs
 * buckets up to 100 ms, then 1 ms buckets up to 60 s; anything slower lands
 * in the last bucket (the exact maximum is kept separately).
 *
 * @module
 */

const FINE_US = 10;
const FINE_BUCKETS = 10_000; // 0 .. 100 ms
const COARSE_US = 1000;
const COARSE_BUCKETS = 59_900; // 100 ms .. 60 s

/** Total number of buckets in a histogram's counts array. */
export const HISTOGRAM_BUCKETS = FINE_BUCKETS + COARSE_BUCKETS + 1;

/** Latency samples in buckets; `counts` is transferable between workers. */
export interface Histogram {
  counts: Uint32Array;
  /** Number of samples. */
  n: number;
  /** Largest sample, in milliseconds. */
  max: number;
}

/** An empty histogram. */
export function createHistogram(): Histogram {
  return { counts: new Uint32Array(HISTOGRAM_BUCKETS), n: 0, max: 0 };
}

/** Adds one sample in milliseconds. */
export function record(h: Histogram, ms: number): void {
  const us = ms < 0 ? 0 : ms * 1000;
  // Bucket i holds samples in (lower, upper]: a sample on an edge reports that edge.
  const i = us <= FINE_BUCKETS * FINE_US
    ? Math.max(0, Math.ceil(us / FINE_US) - 1)
    : Math.min(FINE_BUCKETS + Math.ceil((us - FINE_BUCKETS * FINE_US) / COARSE_US) - 1, HISTOGRAM_BUCKETS - 1);
  h.counts[i]++;
  h.n++;
  if (ms > h.max) h.max = ms;
}

/** Adds `from` into `into`. */
export function merge(into: Histogram, from: Histogram): void {
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) into.counts[i] += from.counts[i];
  into.n += from.n;
  if (from.max > into.max) into.max = from.max;
}

function upperMs(i: number): number {
  return i < FINE_BUCKETS
    ? ((i + 1) * FINE_US) / 1000
    : (FINE_BUCKETS * FINE_US + (i - FINE_BUCKETS + 1) * COARSE_US) / 1000;
}

/**
 * The `q` quantile (0–1) in milliseconds: the upper edge of the bucket that
 * holds it, capped by the maximum; undefined without samples.
 *
 * @example
 * ```ts
 * import { createHistogram, quantile, record } from "./histogram.ts";
 * const h = createHistogram();
 * for (let i = 1; i <= 100; i++) record(h, i);
 * if (quantile(h, 0.5) !== 50) throw new Error("p50");
 * if (quantile(h, 1) !== 100) throw new Error("max");
 * ```
 */
export function quantile(h: Histogram, q: number): number | undefined {
  if (h.n === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * h.n));
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    seen += h.counts[i];
    if (seen >= rank) return Math.min(upperMs(i), h.max);
  }
  return h.max;
}

/** p50, p99 and max of `h` in milliseconds (undefined without samples). */
export function summarize(h: Histogram): { n: number; p50?: number; p99?: number; max?: number } {
  return { n: h.n, p50: quantile(h, 0.5), p99: quantile(h, 0.99), max: h.n ? h.max : undefined };
}
