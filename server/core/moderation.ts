/**
 * A server's moderation: the `ADMIN` gate, the bans in force, the
 * operator's forbidden words, and the one screening every command passes
 * before its handler (whatever the transport or dialect): a message, private
 * message or image with a forbidden word is refused, and so is a nickname
 * with one, or one that is banned (or a join from a banned address).
 *
 * @module
 */
import type { WordFilter } from "../../protocol/forbidden_words.ts";
import { type ClientCommand, nickKey, ProtocolError } from "../../protocol/mod.ts";
import { type AdminGate, createAdminGate } from "./admin_auth.ts";
import { type BanList, createBanList, DEFAULT_BAN_MINUTES } from "./ban_list.ts";
import { addressOf } from "./limits.ts";
import type { Peer } from "./peer.ts";

/** What {@linkcode createModeration} is built from. */
export interface ModerationOptions {
  /** The admin token; undefined switches `ADMIN` off. */
  token?: string;
  /** The forbidden-words list, if the operator gave one. */
  words?: WordFilter;
  /** Minutes a `BAN` lasts when the admin gives none. */
  banMinutes?: number;
  /**
   * Addresses of reverse proxies (`--limit-exempt`): never banned themselves
   * when they name the client (then the client's address is banned).
   */
  exempt?: readonly string[];
  /** Monotonic millisecond clock (ban expiry, failure limits); injected in tests. */
  now?: () => number;
}

/** The moderation state of one server. */
export interface Moderation {
  readonly gate: AdminGate;
  readonly bans: BanList;
  readonly banMinutes: number;
  /**
   * The address a ban of `peer` refuses: its own; from an exempt (proxy)
   * address, the client address the proxy named, or the exempt address
   * itself when none was named (a direct local client). Undefined when the
   * proxy named no usable address.
   */
  banAddress(peer: Peer): string | undefined;
  /** The refusal of `cmd` from `peer` by the operator's rules, if any. */
  screen(cmd: ClientCommand, peer: Peer): ProtocolError | undefined;
}

/** Longest address taken from a proxy header (an IPv6 address with an IPv4 tail is 45 characters). */
export const MAX_FORWARDED_ADDRESS = 45;

const ADDRESS_SHAPE = /^[0-9A-Fa-f:.]+$/;

/**
 * The client address a reverse proxy names in a request: `X-Real-IP`, else
 * the last `X-Forwarded-For` entry (the one the nearest proxy added); `""`
 * when a header is there but names no IP address; undefined without either.
 *
 * @example
 * ```ts
 * import { forwardedClient } from "./moderation.ts";
 * const h = new Headers({ "x-forwarded-for": "203.0.113.9, 198.51.100.7" });
 * if (forwardedClient(h) !== "198.51.100.7" || forwardedClient(new Headers()) !== undefined) throw new Error();
 * ```
 */
export function forwardedClient(headers: { get(name: string): string | null }): string | undefined {
  const named = headers.get("x-real-ip") ?? headers.get("x-forwarded-for")?.split(",").at(-1);
  if (named === undefined || named === null) return undefined;
  const address = named.trim();
  return address.length <= MAX_FORWARDED_ADDRESS && ADDRESS_SHAPE.test(address) ? address : "";
}

/** The text of a message, private message or image a command carries, if any. */
function carriedText(cmd: ClientCommand): string | undefined {
  if ("text" in cmd && typeof cmd.text === "string") return cmd.text;
  if ("url" in cmd && typeof cmd.url === "string") return cmd.url;
  return undefined;
}

/**
 * Creates the moderation state.
 *
 * @example
 * ```ts
 * import { createModeration } from "./moderation.ts";
 * import { createWordFilter } from "../../protocol/forbidden_words.ts";
 * const m = createModeration({ words: createWordFilter(["darn"]) });
 * const peer = { id: 1, remote: "10.0.0.1:5", kind: "ws", send() {}, close() {} };
 * if (m.screen({ type: "msg", text: "D4RN" }, peer)?.code !== "forbidden_content") throw new Error();
 * ```
 */
export function createModeration(options: ModerationOptions = {}): Moderation {
  const { words } = options;
  const exempt = new Set(options.exempt ?? []);
  const bans = createBanList(options.now);

  function banAddress(peer: Peer): string | undefined {
    const address = addressOf(peer.remote);
    if (!exempt.has(address) || peer.forwardedFor === undefined) return address;
    return peer.forwardedFor || undefined;
  }

  return {
    gate: createAdminGate({ token: options.token, now: options.now }),
    bans,
    banMinutes: options.banMinutes ?? DEFAULT_BAN_MINUTES,
    banAddress,
    screen(cmd, peer) {
      if (cmd.type === "nick") {
        if (words?.matches(cmd.nick)) return new ProtocolError("forbidden_nick");
        const ban = bans.refusing(cmd.nick, banAddress(peer));
        if (!ban) return undefined;
        const what = nickKey(ban.nick) === nickKey(cmd.nick) ? `nickname ${ban.nick}` : "this address";
        return new ProtocolError("banned", `${what}, ${Math.ceil(ban.remainingMs / 60_000)} minutes left`);
      }
      const text = words && carriedText(cmd);
      if (text && words.matches(text)) return new ProtocolError("forbidden_content");
      return undefined;
    },
  };
}
