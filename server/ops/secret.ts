/**
 * Secrets an operator gives the server (the `ADMIN` token, the `/metrics`
 * bearer token): from an environment variable or the first line of a file,
 * never a command-line value, and compared in constant time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { hasControlChars } from "../../protocol/mod.ts";
import { readOptionFile, StartupError } from "./startup_error.ts";

/** Largest file a secret is read from, in bytes. */
export const MAX_SECRET_FILE_BYTES = 4096;

/** Where a secret comes from, for the operator's error sentences. */
export interface SecretSource {
  /** The environment variable, e.g. `WIRECHAT_ADMIN_TOKEN`. */
  envVar: string;
  /** The file flag, e.g. `--admin-token-file`. */
  fileFlag: string;
  /** The {@linkcode StartupError} code of a problem. */
  code: string;
}

/**
 * The secret: `value` (the environment variable) or the first line of
 * `file`, surrounding whitespace trimmed; undefined when neither is set.
 *
 * @throws {StartupError} when both are set, or the file cannot be read, is
 * over {@linkcode MAX_SECRET_FILE_BYTES}, or holds no secret; or the secret
 * holds control characters.
 */
export function loadSecret(
  value: string | undefined,
  file: string | undefined,
  from: SecretSource,
): string | undefined {
  if (value && file) {
    throw new StartupError(from.code, `${from.envVar} and ${from.fileFlag} are both set; keep one of them.`);
  }
  let secret = value || undefined;
  if (file) {
    const text = readOptionFile(file, from.fileFlag, from.code, MAX_SECRET_FILE_BYTES);
    secret = text.split(/\r?\n/)[0].trim();
    if (secret === "") {
      throw new StartupError(
        from.code,
        `${from.fileFlag} ${JSON.stringify(file)} is empty; put the token on its first line.`,
      );
    }
  }
  if (secret !== undefined && hasControlChars(secret)) {
    throw new StartupError(
      from.code,
      `the token of ${file ? from.fileFlag : from.envVar} holds control characters; use printable ones.`,
    );
  }
  return secret;
}

function digest(s: string): Uint8Array {
  return createHash("sha256").update(s, "utf8").digest();
}

/**
 * True when `attempt` equals `secret`, in time independent of where they
 * differ and of their lengths (both are hashed to 32 bytes first).
 *
 * @example
 * ```ts
 * import { secretsEqual } from "./secret.ts";
 * if (!secretsEqual("s3cret-token", "s3cret-token") || secretsEqual("s3cret", "s3cret-token")) throw new Error();
 * ```
 */
export function secretsEqual(attempt: string, secret: string): boolean {
  return timingSafeEqual(digest(attempt), digest(secret));
}
