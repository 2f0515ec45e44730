/**
 * Connection limits: how many clients in total and per remote address, how
 * many new connections per address per minute, and how long a connection may
 * stay unregistered (no valid `NICK`). Each limit is a named default and a
 * server option; the transport-independent parts (the per-address table, the
 * registration deadline) live here, the HTTP refusals in `upgrade_guard.ts`.
 *
 * Inbound message size is not among them: the WebSocket transport caps a
 * message, single or fragmented, at `HARD_FRAME_CAP` from its length headers
 * (close 1009, see `transports/ws.ts`).
 *
 * @module
 */
import { CloseCode } from "../../protocol/mod.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Peer } from "./peer.ts";

/** Default most open connections on one server, all transports together. */
export const DEFAULT_MAX_CLIENTS = 10_000;
/** Default most open connections from one remote address. */
export const DEFAULT_MAX_CLIENTS_PER_ADDRESS = 16;
/** Default most new connections from one remote address per minute (a token bucket). */
export const DEFAULT_CONNECTS_PER_MINUTE = 30;
/** Default seconds a connection may take to send a valid `NICK`. */
export const DEFAULT_REGISTRATION_TIMEOUT = 30;
/**
 * Default addresses exempt from the per-address limits: loopback, because a
 * reverse proxy on the same host makes every client look like it.
 */
export const DEFAULT_LIMIT_EXEMPT = "127.0.0.1,::1";
/**
 * Default connections the kernel may hold, per listener, until the server
 * accepts them (`listen(2)`'s backlog; Linux caps it at `net.core.somaxconn`).
 * When a join storm overflows it the kernel drops the SYNs and clients retry
 * after a second: 1 000 clients connecting at once overflowed the runtime's
 * default of 511 while the server was busy with the first joins.
 */
export const DEFAULT_LISTEN_BACKLOG = 4096;
/** Most addresses whose connection rate is remembered; beyond it the oldest are forgotten. */
export const MAX_TRACKED_ADDRESSES = 100_000;

/** The remote address without its port: `1.2.3.4:5` → `1.2.3.4`, `[::1]:5` → `::1`. */
export function addressOf(remote: string): string {
  if (remote.startsWith("[")) return remote.slice(1, remote.indexOf("]"));
  const colon = remote.lastIndexOf(":");
  return colon < 0 || remote.indexOf(":") !== colon ? remote : remote.slice(0, colon);
}

/** Parses a comma-separated list, trimming and dropping empty items. */
export function parseList(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** Settings for {@linkcode createAdmission}. */
export interface AdmissionLimits {
  maxClients: number;
  maxClientsPerAddress: number;
  connectsPerMinute: number;
  /** Addresses the per-address limits do not apply to. */
  exempt: readonly string[];
}

/** Why a connection attempt is refused. */
export type Refusal = "server_full" | "address_full" | "connect_rate";

/** Tracks open connections per address and new-connection rates. */
export interface Admission {
  /**
   * Decides on a new connection from `address` while `open` connections are
   * open; an accepted attempt uses one token of the address's rate.
   */
  check(address: string, open: number): Refusal | undefined;
  /** A connection from `address` opened (any transport). */
  opened(address: string): void;
  /** A connection from `address` closed. */
  closed(address: string): void;
  /** Open connections from `address`. */
  openFrom(address: string): number;
  /** Open connections in total (sockets, including those whose session already ended). */
  total(): number;
}

/**
 * Creates the admission table over an injected monotonic millisecond clock
 * (default `performance.now`: a backward wall-clock step must not empty the
 * connection-rate buckets).
 *
 * @example
 * ```ts
 * import { createAdmission } from "./limits.ts";
 * let t = 0;
 * const a = createAdmission({ maxClients: 10, maxClientsPerAddress: 1, connectsPerMinute: 2, exempt: [] }, () => t);
 * if (a.check("10.0.0.1", 0) !== undefined) throw new Error("first refused");
 * a.opened("10.0.0.1");
 * if (a.check("10.0.0.1", 1) !== "address_full") throw new Error("second admitted");
 * ```
 */
export function createAdmission(limits: AdmissionLimits, now: () => number = () => performance.now()): Admission {
  const exempt = new Set(limits.exempt);
  const open = new Map<string, number>();
  let total = 0;
  const rate = new Map<string, { tokens: number; last: number }>();
  const burst = limits.connectsPerMinute;
  const perMs = burst / 60_000;

  function takeToken(address: string): boolean {
    const t = now();
    let bucket = rate.get(address);
    if (bucket) {
      bucket.tokens = Math.min(burst, bucket.tokens + (t - bucket.last) * perMs);
      bucket.last = t;
      rate.delete(address); // re-inserted below: the map stays in least-recently-seen order
    } else {
      bucket = { tokens: burst, last: t };
      if (rate.size >= MAX_TRACKED_ADDRESSES) rate.delete(rate.keys().next().value!);
    }
    rate.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  return {
    check(address, openNow) {
      if (openNow >= limits.maxClients) return "server_full";
      if (exempt.has(address)) return undefined;
      if ((open.get(address) ?? 0) >= limits.maxClientsPerAddress) return "address_full";
      if (!takeToken(address)) return "connect_rate";
      return undefined;
    },
    opened(address) {
      total++;
      open.set(address, (open.get(address) ?? 0) + 1);
    },
    closed(address) {
      total--;
      const n = (open.get(address) ?? 0) - 1;
      if (n > 0) open.set(address, n);
      else open.delete(address);
    },
    openFrom: (address) => open.get(address) ?? 0,
    total: () => total,
  };
}

/**
 * Closes `peer` with `ERR Registration timeout` and 1008 unless it has
 * joined (`joined()` is true) within `seconds`; 0 turns the deadline off.
 * Returns a cancel function for when the connection ends first.
 */
export function armRegistrationDeadline(
  peer: Peer,
  seconds: number,
  joined: () => boolean,
  metrics?: Metrics,
): () => void {
  if (seconds <= 0) return () => {};
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    timer = undefined;
    if (joined()) return;
    metrics?.inc("wirechat_errors_total", 1, { code: "registration_timeout" });
    peer.send({ type: "error", code: "registration_timeout" });
    peer.close(CloseCode.POLICY, "Registration timeout");
  }, seconds * 1000);
  // Cancelled (joined, or gone): the timer is dropped, not kept alive by this closure for the connection's life.
  return () => {
    clearTimeout(timer);
    timer = undefined;
  };
}
