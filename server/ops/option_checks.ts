/**
 * Checks for the server's text options, each returning what was expected
 * (the fix for the operator) or undefined when the value is fine. Used by
 * the option table in `config.ts`, so a bad value is a usage error before
 * anything starts.
 *
 * @module
 */

import { hostnameOf } from "../transports/allowed_hosts.ts";
import { LOOPBACK_PEERS } from "./metrics_access.ts";

/** What a text option must look like: undefined when `value` is fine, else the expectation. */
export type OptionCheck = (value: string) => string | undefined;

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** True for an IPv4 or IPv6 address literal (no port, no brackets). */
export function isIpLiteral(s: string): boolean {
  if (IPV4.test(s)) return true;
  if (!s.includes(":")) return false;
  try {
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** A value that may not be empty. */
export const nonEmpty: OptionCheck = (v) => v.trim() === "" ? "a non-empty value" : undefined;

/**
 * A Redis URL: `redis://host:port` (or `rediss://` for TLS).
 *
 * @example
 * ```ts
 * import { redisUrl } from "./option_checks.ts";
 * if (redisUrl("redis://127.0.0.1:6379") !== undefined) throw new Error();
 * if (redisUrl("http://127.0.0.1:6379") === undefined) throw new Error();
 * ```
 */
export const redisUrl: OptionCheck = (v) => {
  const expected = "a redis://host:port URL, e.g. redis://127.0.0.1:6379";
  try {
    const url = new URL(v);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "" ? undefined : expected;
  } catch {
    return expected;
  }
};

/**
 * Comma-separated browser origins (`https://chat.example.org`, scheme, host
 * and port only) or `*`; empty means the server's own origin.
 */
export const originList: OptionCheck = (v) => {
  for (const item of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (item === "*") continue;
    let ok = false;
    try {
      const url = new URL(item);
      ok = (url.protocol === "http:" || url.protocol === "https:") && url.origin === item.replace(/\/$/, "");
    } catch {
      ok = false;
    }
    if (!ok) {
      return `origins like https://chat.example.org (scheme, host and optional port; comma-separated) or *; ${
        JSON.stringify(item)
      } is not one`;
    }
  }
  return undefined;
};

/** Comma-separated IP addresses (no names: the check compares the peer's address). */
export const addressList: OptionCheck = (v) => {
  for (const item of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!isIpLiteral(item)) {
      return `IP addresses such as 127.0.0.1,::1 (comma-separated, no host names); ${JSON.stringify(item)} is not one`;
    }
  }
  return undefined;
};

/** Comma-separated host names or addresses (a port is allowed and ignored), or `*`. */
export const hostList: OptionCheck = (v) => {
  for (const item of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (item !== "*" && hostnameOf(item) === undefined) {
      return `host names such as chat.example.org,10.0.0.5 (comma-separated) or *; ${JSON.stringify(item)} is not one`;
    }
  }
  return undefined;
};

/** Comma-separated IP addresses or the word `loopback`; empty means none. */
export const peerList: OptionCheck = (v) => {
  for (const item of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (item !== LOOPBACK_PEERS && !isIpLiteral(item)) {
      return `loopback and/or IP addresses such as 10.0.0.7 (comma-separated, no host names); ${
        JSON.stringify(item)
      } is not one`;
    }
  }
  return undefined;
};
