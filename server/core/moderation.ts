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
  /** Addresses never banned (a reverse proxy every client seems to come from). */
  exempt?: readonly string[];
  /** Monotonic millisecond clock (ban expiry, failure limits); injected in tests. */
  now?: () => number;
}

/** The moderation state of one server. */
export interface Moderation {
  readonly gate: AdminGate;
  readonly bans: BanList;
  readonly banMinutes: number;
  /** The address a ban of `peer` refuses, or undefined for an exempt (shared) address. */
  banAddress(peer: Peer): string | undefined;
  /** The refusal of `cmd` from `peer` by the operator's rules, if any. */
  screen(cmd: ClientCommand, peer: Peer): ProtocolError | undefined;
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
    return exempt.has(address) ? undefined : address;
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
