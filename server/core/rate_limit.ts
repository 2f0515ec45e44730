/**
 * Token-bucket flood control: `burst` lines at once, refilled at `perSecond`.
 *
 * @module
 */

/** Default burst: a multi-line paste of this many lines passes at once. */
export const DEFAULT_RATE_BURST = 100;
/** Default sustained rate in lines per second; a human typist stays far below. */
export const DEFAULT_RATE_PER_SECOND = 10;
/** Consecutive refused lines after which a flooder is closed with 1008. */
export const FLOOD_CLOSE_AFTER = 50;

/** Rate limit settings; `perSecond <= 0` turns flood control off. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

/** A token bucket; `take()` is true when the line may pass. */
export interface TokenBucket {
  take(): boolean;
}

/**
 * Creates a token bucket over an injected millisecond clock.
 *
 * @example
 * ```ts
 * import { createTokenBucket } from "./rate_limit.ts";
 * let t = 0;
 * const b = createTokenBucket({ burst: 2, perSecond: 1 }, () => t);
 * if (!b.take() || !b.take() || b.take()) throw new Error("burst wrong");
 * t = 1000;
 * if (!b.take()) throw new Error("no refill");
 * ```
 */
export function createTokenBucket(limit: RateLimit, now: () => number): TokenBucket {
  if (limit.perSecond <= 0) return { take: () => true };
  let tokens = limit.burst;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(limit.burst, tokens + ((t - last) / 1000) * limit.perSecond);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
