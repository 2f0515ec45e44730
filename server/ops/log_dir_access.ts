/**
 * The log folder preflight: before the server starts, check that it may
 * create, read and write its log folder, and explain in one sentence when it
 * may not (a standalone executable only has the folders baked into it).
 *
 * @module
 */

/**
 * The log folders the standalone executables may read and write (baked in
 * by `deno task compile`): `./logs` (the default `--log-dir`, relative to
 * the working directory), `/data` (the container volume) and
 * `/var/lib/wirechat` (the systemd `StateDirectory`).
 */
export const STANDALONE_LOG_DIRS: readonly string[] = ["./logs", "/data", "/var/lib/wirechat"];

/** The probe file created and removed to prove the folder is writable. */
export const WRITE_PROBE = ".wirechat-write-check";

function isStandalone(): boolean {
  return (Deno.build as { standalone?: boolean }).standalone === true;
}

function hint(standalone: boolean): string {
  return standalone
    ? `this executable may only use ${STANDALONE_LOG_DIRS.join(", ")}; pick one with --log-dir or WIRECHAT_LOG_DIR`
    : "grant it with --allow-read and --allow-write, or pick another folder with --log-dir";
}

/** What {@linkcode logDirProblem} consults (replaceable in tests). */
export interface LogDirCheckOptions {
  /** Whether this is a compiled executable (default: `Deno.build.standalone`). */
  standalone?: boolean;
  /** The state of a Deno permission for a path (default: `Deno.permissions.querySync`). */
  permission?: (name: "read" | "write", path: string) => Deno.PermissionState;
}

/**
 * Checks that `dir` can be created, read and written. Returns undefined when
 * it can, or one sentence saying why not.
 *
 * @example
 * ```ts
 * import { logDirProblem } from "./log_dir_access.ts";
 * const dir = Deno.makeTempDirSync();
 * if (logDirProblem(dir) !== undefined) throw new Error("a fresh temp dir is usable");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function logDirProblem(dir: string, options: LogDirCheckOptions = {}): string | undefined {
  const permission = options.permission ?? ((name, path) => Deno.permissions.querySync({ name, path }).state);
  for (const name of ["read", "write"] as const) {
    if (permission(name, dir) !== "granted") {
      return `no permission to ${name} the log folder ${JSON.stringify(dir)}: ${
        hint(options.standalone ?? isStandalone())
      }.`;
    }
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
    const probe = `${dir}/${WRITE_PROBE}`;
    Deno.openSync(probe, { write: true, create: true }).close();
    Deno.removeSync(probe);
    Deno.readDirSync(dir)[Symbol.iterator]().next();
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
      return `the log folder ${JSON.stringify(dir)} cannot be written by this user (${err.message}).`;
    }
    return `cannot use the log folder ${JSON.stringify(dir)}: ${err instanceof Error ? err.message : String(err)}.`;
  }
  return undefined;
}
