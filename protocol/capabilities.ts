/**
 * Capabilities: the extension lines a client has declared it understands.
 * A line client that declared nothing (the original Wirechat clients)
 * receives only `SYS`, `MSG`, `ERR`, `PONG` and `IMG` lines, plus the
 * private messages addressed to it; every other line needs a capability.
 *
 * A client declares capabilities with a `CAP <name>…` line (any transport,
 * before or after `NICK`), or over WebSocket by offering one subprotocol
 * `wirechat.cap.<name>` per capability beside the subprotocol it wants to
 * speak (the server never selects those; servers that do not know them
 * ignore them, so a client can always offer them). See docs/PROTOCOL.md.
 *
 * @module
 */
import type { ServerEvent } from "./events.ts";
import { nickKey } from "./nick.ts";

/** Every capability, with what it turns on. */
export const CAPABILITIES = {
  /** `PM` lines for the private messages you send (the copy of your own). */
  pm: "a copy of each private message you send",
  /** `TYPING <nick>` lines. */
  typing: "TYPING lines: who is typing",
} as const;

/** A capability name. */
export type Capability = keyof typeof CAPABILITIES;

/** Capability names, sorted. */
export const CAPABILITY_NAMES: readonly Capability[] = (Object.keys(CAPABILITIES) as Capability[]).sort();

/** A WebSocket subprotocol offer `wirechat.cap.<name>` declares `<name>`. */
export const CAPABILITY_SUBPROTOCOL_PREFIX = "wirechat.cap.";

/** The capability named `name` (case-insensitive), or undefined for a name this server does not know. */
export function capabilityNamed(name: string): Capability | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(CAPABILITIES, key) ? key as Capability : undefined;
}

/**
 * The subprotocols that declare `caps` (a client offers them beside its own).
 *
 * @example
 * ```ts
 * import { capabilitySubprotocols } from "./capabilities.ts";
 * if (capabilitySubprotocols(["typing"])[0] !== "wirechat.cap.typing") throw new Error();
 * ```
 */
export function capabilitySubprotocols(caps: readonly Capability[]): string[] {
  return caps.map((c) => CAPABILITY_SUBPROTOCOL_PREFIX + c);
}

/** The capabilities declared by a list of offered subprotocols; other offers are ignored. */
export function capabilitiesOffered(protocols: readonly string[]): Capability[] {
  const caps: Capability[] = [];
  for (const p of protocols) {
    if (!p.startsWith(CAPABILITY_SUBPROTOCOL_PREFIX)) continue;
    const cap = capabilityNamed(p.slice(CAPABILITY_SUBPROTOCOL_PREFIX.length));
    if (cap && !caps.includes(cap)) caps.push(cap);
  }
  return caps;
}

/**
 * The capability a client needs to be sent `event`; `null` when every
 * client gets it. `self` is the client's nick (a private message addressed
 * to it needs nothing; the copy of one it sent needs `pm`).
 *
 * @example
 * ```ts
 * import { capabilityNeeded } from "./capabilities.ts";
 * if (capabilityNeeded({ type: "typing", nick: "bob" }, "al") !== "typing") throw new Error();
 * if (capabilityNeeded({ type: "msg", ts: "", nick: "bob", text: "hi" }, "al") !== null) throw new Error();
 * ```
 */
export function capabilityNeeded(event: ServerEvent, self: string | undefined): Capability | null {
  switch (event.type) {
    case "typing":
      return "typing";
    case "pm":
      return self !== undefined && nickKey(event.to) === nickKey(self) ? null : "pm";
    default:
      return null;
  }
}
