/**
 * The Host allow-list, checked on every HTTP request before anything else
 * (before the Origin check on upgrades). It stops DNS rebinding: a page on
 * `evil.example` whose name the attacker re-points at this server sends
 * `Host: evil.example` and `Origin: http://evil.example`, which the
 * own-origin check alone would accept, and could read pages (`/metrics`)
 * as same-origin. A browser always sends the name it used, so refusing
 * names the server does not answer to closes that door.
 *
 * Allowed by default: the listening address, `localhost`, the loopback
 * literals `127.0.0.1` and `[::1]` and, when listening on every address
 * (`0.0.0.0`, `::`), this machine's interface addresses and hostname; plus
 * the names an operator lists with `--allowed-hosts` (`*` turns the check
 * off). Ports are not compared: a port mapping (a container's `-p 8080:12345`)
 * changes the port the browser names, and the port is no defence against
 * rebinding.
 *
 * @module
 */
import type { RequestHead } from "./http_listener.ts";

/** Names every server answers to. */
export const ALWAYS_ALLOWED_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "::1"];
/** Default of `--allowed-hosts`: no names beyond the defaults above. */
export const DEFAULT_ALLOWED_HOSTS = "";
/** The listening addresses that mean "every address of this machine". */
export const WILDCARD_ADDRESSES: readonly string[] = ["0.0.0.0", "::", "[::]"];

/** The names a server answers to. */
export interface HostAllowList {
  /** True when `--allowed-hosts` is `*`: any Host passes. */
  readonly any: boolean;
  /** Every allowed host name, normalized (lower case, IPv6 without brackets, no trailing dot). */
  readonly names: ReadonlySet<string>;
}

/**
 * The host name of a `Host` header value (or a configured name), normalized:
 * lower case, no port, IPv6 without brackets, no trailing dot. Undefined when
 * it is not a valid host.
 *
 * @example
 * ```ts
 * import { hostnameOf } from "./allowed_hosts.ts";
 * if (hostnameOf("Chat.Example.:8443") !== "chat.example") throw new Error();
 * if (hostnameOf("[::1]:12345") !== "::1") throw new Error();
 * if (hostnameOf("::1") !== "::1") throw new Error();
 * if (hostnameOf("a b") !== undefined) throw new Error();
 * ```
 */
export function hostnameOf(host: string): string | undefined {
  let value = host.trim();
  if (value === "") return undefined;
  // A bare IPv6 literal (a configured name, never a valid Host header) gets its brackets.
  if (!value.startsWith("[") && value.indexOf(":") !== value.lastIndexOf(":")) value = `[${value}]`;
  let name: string;
  try {
    const url = new URL(`http://${value}/`);
    if (url.username || url.password || url.pathname !== "/" || url.search || url.hash) return undefined;
    name = url.hostname;
  } catch {
    return undefined;
  }
  if (name.startsWith("[")) name = name.slice(1, -1);
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** What this machine answers to when listening on every address. */
export interface MachineNames {
  /** Interface addresses and the hostname. */
  names: string[];
  /** Why they could not all be read (a missing `--allow-sys`), if so. */
  problem?: string;
}

/** Reads this machine's interface addresses and hostname (needs `--allow-sys=networkInterfaces,hostname`). */
export function machineNames(): MachineNames {
  const names: string[] = [];
  const problems: string[] = [];
  try {
    for (const i of Deno.networkInterfaces()) names.push(i.address);
  } catch (err) {
    problems.push(`interface addresses (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    names.push(Deno.hostname());
  } catch (err) {
    problems.push(`hostname (${err instanceof Error ? err.message : String(err)})`);
  }
  return problems.length ? { names, problem: `cannot read this machine's ${problems.join(" and ")}` } : { names };
}

/**
 * Builds the allow-list for a server listening on `listen` with
 * `--allowed-hosts` items `configured`; `machine` is read only when
 * listening on every address.
 *
 * @example
 * ```ts
 * import { createHostAllowList, hostAllowed } from "./allowed_hosts.ts";
 * const list = createHostAllowList("127.0.0.1", ["chat.example"]);
 * if (!hostAllowed("localhost:12345", list) || !hostAllowed("CHAT.example", list)) throw new Error();
 * if (hostAllowed("evil.example", list)) throw new Error("evil.example must be refused");
 * ```
 */
export function createHostAllowList(
  listen: string,
  configured: readonly string[],
  machine: () => MachineNames = machineNames,
): HostAllowList {
  const raw = [...ALWAYS_ALLOWED_HOSTS, listen, ...configured];
  if (WILDCARD_ADDRESSES.includes(listen)) raw.push(...machine().names);
  const names = new Set<string>();
  for (const item of raw) {
    const name = hostnameOf(item);
    if (name !== undefined) names.add(name);
  }
  return { any: configured.includes("*"), names };
}

/** True when a request naming `host` (its `Host` header) may be served. */
export function hostAllowed(host: string | null, list: HostAllowList): boolean {
  if (list.any) return true;
  if (host === null) return false;
  const name = hostnameOf(host);
  return name !== undefined && list.names.has(name);
}

/** The `Host` a request names: the header, or (HTTP/2, where it is `:authority`) the URL's. */
export function requestHost(req: RequestHead): string {
  return req.headers.get("host") ?? new URL(req.url).host;
}
