/**
 * The operator's moderation settings read at start: the `ADMIN` token (from
 * `WIRECHAT_ADMIN_TOKEN` or `--admin-token-file`) and the forbidden-words
 * list (`--forbidden-words-file`). Files are read with a size bound; a
 * problem stops the start with one sentence saying what to fix.
 *
 * @module
 */
import { createWordFilter, parseForbiddenWords, type WordFilter } from "../../protocol/forbidden_words.ts";
import { hasControlChars } from "../../protocol/mod.ts";
import type { ServerConfig } from "./config.ts";
import { StartupError } from "./startup_error.ts";

/** Largest admin token file, in bytes. */
export const MAX_ADMIN_TOKEN_FILE_BYTES = 4096;
/** Largest forbidden-words file, in bytes. */
export const MAX_FORBIDDEN_WORDS_FILE_BYTES = 1024 * 1024;
/** Tokens shorter than this start with a warning: they can be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** A problem with a moderation file or token: one sentence for the operator (the server does not start). */
export class ModerationConfigError extends StartupError {
  constructor(code: "unreadable" | "too_large" | "invalid", message: string) {
    super(`moderation_${code}`, message);
    this.name = "ModerationConfigError";
  }
}

/** Reads `path` as UTF-8, refusing files over `maxBytes` without reading them whole. */
export function readBoundedText(path: string, maxBytes: number, what: string): string {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    throw new ModerationConfigError(
      "unreadable",
      `cannot read ${what} ${JSON.stringify(path)} (${
        err instanceof Error ? err.message.replace(/ \(os error \d+\)$/, "") : err
      }); check the path and that the server may read it.`,
    );
  }
  try {
    const buf = new Uint8Array(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const got = file.readSync(buf.subarray(n));
      if (got === null) break;
      n += got;
    }
    if (n > maxBytes) {
      throw new ModerationConfigError(
        "too_large",
        `${what} ${JSON.stringify(path)} is over ${maxBytes} bytes; give the right file.`,
      );
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      throw new ModerationConfigError(
        "invalid",
        `${what} ${JSON.stringify(path)} is not UTF-8 text; save it as UTF-8.`,
      );
    }
  } finally {
    file.close();
  }
}

/** The resolved token and, for the start-up log, where it came from. */
export interface AdminTokenSource {
  token: string | undefined;
  /** `environment`, `file <path>`, or `none`. */
  from: string;
  /** Set when the token is short enough to be guessed. */
  weak: boolean;
}

/**
 * The `ADMIN` token: `WIRECHAT_ADMIN_TOKEN`, or the first line of
 * `--admin-token-file` (surrounding whitespace trimmed), or none.
 *
 * @throws {ModerationConfigError} when the file cannot be read or the token is empty or holds control characters.
 */
export function loadAdminToken(config: Pick<ServerConfig, "adminToken" | "adminTokenFile">): AdminTokenSource {
  let token: string;
  let from: string;
  if (config.adminTokenFile !== undefined) {
    from = `file ${config.adminTokenFile}`;
    token = readBoundedText(config.adminTokenFile, MAX_ADMIN_TOKEN_FILE_BYTES, "--admin-token-file").trim();
    if (token === "") {
      throw new ModerationConfigError(
        "invalid",
        `--admin-token-file ${JSON.stringify(config.adminTokenFile)} is empty; put the token in it.`,
      );
    }
    if (token.includes("\n")) {
      throw new ModerationConfigError(
        "invalid",
        `--admin-token-file ${JSON.stringify(config.adminTokenFile)} holds several lines; keep only the token.`,
      );
    }
  } else if (config.adminToken !== undefined) {
    from = "environment";
    token = config.adminToken.trim();
  } else {
    return { token: undefined, from: "none", weak: false };
  }
  if (token === "" || hasControlChars(token)) {
    throw new ModerationConfigError(
      "invalid",
      `the admin token (${from}) is empty or holds control characters; use printable characters only.`,
    );
  }
  return { token, from, weak: [...token].length < MIN_ADMIN_TOKEN_LENGTH };
}

/**
 * The compiled forbidden-words list of `path`, or undefined without a path.
 *
 * @throws {ModerationConfigError} when the file cannot be read, is too large, or breaks a list limit.
 */
export function loadForbiddenWords(path: string | undefined): WordFilter | undefined {
  if (path === undefined) return undefined;
  const text = readBoundedText(path, MAX_FORBIDDEN_WORDS_FILE_BYTES, "--forbidden-words-file");
  try {
    return createWordFilter(parseForbiddenWords(text));
  } catch (err) {
    throw new ModerationConfigError(
      "invalid",
      `--forbidden-words-file ${JSON.stringify(path)}: ${err instanceof Error ? err.message : err}; shorten the list.`,
    );
  }
}
