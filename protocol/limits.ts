/**
 * Protocol limits and defaults, each a named constant. Operators can change
 * the ones marked "default" through server flags; the others are fixed by
 * the wire contract.
 *
 * @module
 */

/** Longest nickname, in Unicode code points (after trimming). */
export const MAX_NICK_LENGTH = 20;

/**
 * Longest `WHO` pattern, in code points. Matching is linear whatever the
 * pattern (see `protocol/pattern.ts`); the bound keeps one `WHO` over a full
 * room cheap. Longer patterns are refused with `ERR Pattern too long`.
 */
export const MAX_WHO_PATTERN = 256;

/**
 * Longest URL `IMG` accepts, in code points (the common browser limit); a
 * longer one is refused with `ERR Invalid image URL`.
 */
export const MAX_IMAGE_URL = 2000;

/** Default longest client line, in code points, command word included. */
export const DEFAULT_MAX_LINE = 2048;

/** Hard cap on one inbound frame or TCP line, in bytes; beyond it the
 * connection is closed (WebSocket close code 1009). */
export const HARD_FRAME_CAP = 64 * 1024;

/** Default number of messages replayed on join and the most `HISTORY` returns. */
export const DEFAULT_REPLAY = 50;

/** A member's `TYPING` is relayed at most once per this many milliseconds. */
export const TYPING_INTERVAL_MS = 2000;

/** Longest `PING` token echoed back, in code points (longer ones are cut). */
export const MAX_PING_TOKEN = 64;

/** The last greeting line, exactly as the contract fixes it. */
export const GREETING_PROMPT = "Send: NICK <name>";

/** Protocol identifier reported by `VERSION`. */
export const PROTOCOL_ID = "wirechat/1";

/** WebSocket subprotocol: the server may put several lines in one frame. */
export const BATCH_SUBPROTOCOL = "wirechat.batch";

/** WebSocket close codes used by the server. */
export const CloseCode = {
  /** Normal closure: QUIT, or a refused join. */
  NORMAL: 1000,
  /** Going away: server shutdown. */
  GOING_AWAY: 1001,
  /** Protocol error: an unmasked client frame, reserved bits, an unknown opcode. */
  PROTOCOL_ERROR: 1002,
  /** Unsupported data: a binary frame. */
  UNSUPPORTED: 1003,
  /** Invalid frame payload data: a text frame that is not valid UTF-8. */
  INVALID_PAYLOAD: 1007,
  /** Policy violation: sustained flooding, slow consumer, bad origin. */
  POLICY: 1008,
  /** Message too big: a frame beyond {@linkcode HARD_FRAME_CAP}. */
  TOO_BIG: 1009,
  /** Internal error. */
  INTERNAL: 1011,
  /** Try again later: server full. */
  TRY_AGAIN: 1013,
  /** Kicked by an operator (`KICK`). */
  KICKED: 4000,
  /** Banned by an operator (`BAN`). */
  BANNED: 4001,
} as const;

/** Longest ban `BAN <nick> <minutes>` accepts, in minutes (30 days). */
export const MAX_BAN_MINUTES = 30 * 24 * 60;
