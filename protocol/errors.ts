/**
 * Typed protocol errors. Every error carries a stable `code`; one table maps
 * codes to the exact `ERR` texts of the wire contract.
 *
 * @module
 */
import { MAX_BAN_MINUTES, MAX_WHO_PATTERN } from "./limits.ts";

/** Stable error codes, one per `ERR` text. */
export type ErrorCode =
  | "expected_nick"
  | "invalid_nick"
  | "nick_in_use"
  | "expected_msg"
  | "too_large"
  | "control_chars"
  | "invalid_utf8"
  | "unknown_command"
  | "no_such_user"
  | "expected_pm"
  | "expected_history"
  | "rate_limited"
  | "registration_timeout"
  | "server_full"
  | "unavailable"
  | "pattern_too_long"
  /** `IMG` without a URL. */
  | "img_requires_url"
  /** `IMG` with something that is not an http(s) URL within `MAX_IMAGE_URL`. */
  | "invalid_image_url"
  /** A structured dialect's frame that is not a valid message (JSON dialects only). */
  | "bad_message"
  | "expected_admin"
  | "invalid_admin_token"
  | "admin_locked"
  | "admin_disabled"
  | "admin_only"
  | "user_not_found"
  | "expected_kick"
  | "expected_ban"
  | "expected_unban"
  | "not_banned"
  | "bans_full"
  | "banned"
  | "forbidden_content"
  | "forbidden_nick";

/** The `ERR` text for each code; `detail` fills the codes that name a value. */
export const ERROR_TEXT: Readonly<Record<ErrorCode, (detail?: string) => string>> = {
  expected_nick: () => "Expected: NICK <name>",
  invalid_nick: () => "Invalid nickname",
  nick_in_use: () => "Nickname already in use",
  expected_msg: () => "Expected: MSG <text>",
  too_large: () => "Message too large",
  control_chars: () => "Message contains control characters",
  invalid_utf8: () => "Message is not valid UTF-8",
  unknown_command: (word = "") => `Unknown command: ${word}`,
  no_such_user: (nick = "") => `No such user: ${nick}`,
  expected_pm: () => "Expected: PM <nick> <text>",
  expected_history: () => "Expected: HISTORY [<n>]",
  rate_limited: () => "Rate limit exceeded",
  registration_timeout: () => "Registration timeout",
  server_full: () => "Server full",
  unavailable: (why = "") => `Service unavailable${why ? `: ${why}` : ""}`,
  pattern_too_long: () => `Pattern too long (at most ${MAX_WHO_PATTERN} characters)`,
  img_requires_url: () => "IMG requires a URL",
  invalid_image_url: () => "Invalid image URL",
  bad_message: (why = "") => `Malformed message${why ? `: ${why}` : ""}`,
  expected_admin: () => "Expected: ADMIN <token>",
  invalid_admin_token: () => "Invalid admin token",
  admin_locked: () => "Too many failed admin attempts, try again later",
  admin_disabled: () => "Admin commands are disabled on this server (no admin token is set)",
  admin_only: () => "Admin only command",
  user_not_found: (nick = "") => `User not found: ${nick}`,
  expected_kick: () => "Expected: KICK <nick>",
  expected_ban: () => `Expected: BAN <nick> [<minutes>] (1 to ${MAX_BAN_MINUTES} minutes)`,
  expected_unban: () => "Expected: UNBAN <nick>",
  not_banned: (nick = "") => `Not banned: ${nick}`,
  bans_full: () => "Ban list full",
  banned: (what = "") => `Banned: ${what}`,
  forbidden_content: () => "Message contains forbidden content",
  forbidden_nick: () => "Nickname contains forbidden words",
};

/** Lookup from `ERR` text (or its fixed prefix) back to a code, for clients. */
export function errorCodeOf(text: string): ErrorCode | undefined {
  for (const [code, fmt] of Object.entries(ERROR_TEXT) as [ErrorCode, (d?: string) => string][]) {
    const fixed = fmt();
    if (text === fixed) return code;
    if (fixed.endsWith(": ") && text.startsWith(fixed)) return code;
  }
  return undefined;
}

/**
 * A protocol-level refusal of a client line. It never ends the server; the
 * session turns it into an `ERR` line.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * const e = new ProtocolError("unknown_command", "FOO");
 * if (e.text !== "Unknown command: FOO") throw new Error("wrong text");
 * ```
 */
export class ProtocolError extends Error {
  /** The stable code. */
  readonly code: ErrorCode;
  /** The value the error names, if any (a command word, a nickname). */
  readonly detail?: string;
  /** The exact text that follows `ERR `. */
  readonly text: string;

  constructor(code: ErrorCode, detail?: string) {
    const text = ERROR_TEXT[code](detail);
    super(text);
    this.name = "ProtocolError";
    this.code = code;
    this.detail = detail;
    this.text = text;
  }
}
