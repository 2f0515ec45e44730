/**
 * The `ADMIN <token>` check: the operator's token compared in constant time
 * (`secretsEqual`),
 * and failed attempts limited per connection and per remote address, so the
 * token cannot be guessed by trying (a locked-out attempt is refused without
 * being compared, even when it is right).
 *
 * @module
 */
import { secretsEqual } from "../ops/secret.ts";

/** Failed `ADMIN` attempts one connection may make before it is locked out. */
export const ADMIN_FAILURES_PER_CONNECTION = 3;
/** Failed `ADMIN` attempts from one address (all its connections) before it is locked out. */
export const ADMIN_FAILURES_PER_ADDRESS = 10;
/** Time in which a lockout wears off completely (allowed failures come back gradually over it). */
export const ADMIN_FAILURE_WINDOW_MS = 15 * 60_000;
/** Most addresses whose failures are remembered; beyond it the least recent are forgotten. */
export const MAX_ADMIN_TRACKED_ADDRESSES = 10_000;

/** The outcome of one `ADMIN` attempt. */
export type AdminVerdict =
  /** The token is right: the connection is an operator now. */
  | "granted"
  /** The token is wrong (counted). */
  | "invalid"
  /** Too many failures from this connection or address: not compared. */
  | "locked"
  /** The server has no token: `ADMIN` is switched off. */
  | "disabled";

/** Limits for {@linkcode createAdminGate} (the defaults are the named constants). */
export interface AdminGateOptions {
  /** The operator token; undefined switches `ADMIN` off. */
  token: string | undefined;
  /** Monotonic millisecond clock (default `performance.now`); injected in tests. */
  now?: () => number;
  perConnection?: number;
  perAddress?: number;
  windowMs?: number;
}

/** Checks `ADMIN` attempts; one per server. */
export interface AdminGate {
  /** True when the server has a token. */
  readonly enabled: boolean;
  /** The checker for one connection from `address` (it keeps that connection's failures). */
  forConnection(address: string): (attempt: string) => AdminVerdict;
}

/** Failures that wear off linearly: `limit` of them are forgotten over `windowMs`. */
interface Failures {
  level: number;
  last: number;
}

/**
 * Creates the gate.
 *
 * @example
 * ```ts
 * import { createAdminGate } from "./admin_auth.ts";
 * const gate = createAdminGate({ token: "right-token-123456", perConnection: 1, now: () => 0 });
 * const check = gate.forConnection("10.0.0.1");
 * if (check("wrong") !== "invalid" || check("right-token-123456") !== "locked") throw new Error();
 * ```
 */
export function createAdminGate(options: AdminGateOptions): AdminGate {
  const { token } = options;
  const now = options.now ?? (() => performance.now());
  const perConnection = options.perConnection ?? ADMIN_FAILURES_PER_CONNECTION;
  const perAddress = options.perAddress ?? ADMIN_FAILURES_PER_ADDRESS;
  const windowMs = options.windowMs ?? ADMIN_FAILURE_WINDOW_MS;
  const byAddress = new Map<string, Failures>();

  /** Brings `f` up to now; true when one more failure would pass `limit`. */
  function full(f: Failures, limit: number): boolean {
    const t = now();
    f.level = Math.max(0, f.level - ((t - f.last) * limit) / windowMs);
    f.last = t;
    return f.level + 1 > limit;
  }

  function addressFailures(address: string): Failures {
    let f = byAddress.get(address);
    if (f) byAddress.delete(address); // re-inserted: the map stays in least-recently-seen order
    else {
      f = { level: 0, last: now() };
      if (byAddress.size >= MAX_ADMIN_TRACKED_ADDRESSES) byAddress.delete(byAddress.keys().next().value!);
    }
    byAddress.set(address, f);
    return f;
  }

  return {
    enabled: token !== undefined,
    forConnection(address) {
      const mine: Failures = { level: 0, last: now() };
      return (attempt) => {
        if (token === undefined) return "disabled";
        const theirs = addressFailures(address);
        if (full(mine, perConnection) || full(theirs, perAddress)) return "locked";
        if (secretsEqual(attempt, token)) return "granted";
        mine.level++;
        theirs.level++;
        return "invalid";
      };
    },
  };
}
