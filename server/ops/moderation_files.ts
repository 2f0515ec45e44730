/**
 * The operator's moderation settings read at start: the `ADMIN` token (from
 * `WIRECHAT_ADMIN_TOKEN` or `--admin-token-file`) and the forbidden-words
 * list (`--forbidden-words-file`). Files are read with a size bound; a
 * problem stops the start with one sentence saying what to fix.
 *
 * @module
 */
import { createWordFilter, parseForbiddenWords, type WordFilter } from "../../protocol/forbidden_words.ts";
import type { ServerConfig } from "./config.ts";
import { loadSecret } from "./secret.ts";
import { readOptionFile, StartupError } from "./startup_error.ts";

/** Largest forbidden-words file, in bytes. */
export const MAX_FORBIDDEN_WORDS_FILE_BYTES = 1024 * 1024;
/** Tokens shorter than this start with a warning: they can be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

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
 * `--admin-token-file`, or none.
 *
 * @throws {StartupError} `admin_token` (see `loadSecret`).
 */
export function loadAdminToken(config: Pick<ServerConfig, "adminToken" | "adminTokenFile">): AdminTokenSource {
  const token = loadSecret(config.adminToken, config.adminTokenFile, {
    envVar: "WIRECHAT_ADMIN_TOKEN",
    fileFlag: "--admin-token-file",
    code: "admin_token",
  });
  if (token === undefined) return { token, from: "none", weak: false };
  const from = config.adminTokenFile ? `file ${config.adminTokenFile}` : "environment";
  return { token, from, weak: [...token].length < MIN_ADMIN_TOKEN_LENGTH };
}

/**
 * The compiled forbidden-words list of `path`, or undefined without a path.
 *
 * @throws {StartupError} `forbidden_words` when the file cannot be read, is too large, or breaks a list limit.
 */
export function loadForbiddenWords(path: string | undefined): WordFilter | undefined {
  if (path === undefined) return undefined;
  const flag = "--forbidden-words-file";
  const text = readOptionFile(path, flag, "forbidden_words", MAX_FORBIDDEN_WORDS_FILE_BYTES);
  try {
    return createWordFilter(parseForbiddenWords(text));
  } catch (err) {
    throw new StartupError(
      "forbidden_words",
      `${flag} ${JSON.stringify(path)}: ${err instanceof Error ? err.message : err}; shorten the list.`,
    );
  }
}
