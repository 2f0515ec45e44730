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
    : "this server was started without access to it; pick another folder with --log-dir or WIRECHAT_LOG_DIR";
}

/** The nearest existing ancestor of `dir` that is a file, not a folder (why mkdir says "Not a directory"). */
function fileInTheWay(dir: string): string | undefined {
  let path = dir.replace(/\/+$/, "");
  while (path.includes("/")) {
    path = path.slice(0, path.lastIndexOf("/"));
    if (path === "") return undefined;
    try {
      if (!Deno.statSync(path).isDirectory) return path;
      return undefined;
    } catch {
      // missing: look further up
    }
  }
  return undefined;
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
    const name = JSON.stringify(dir);
    const pick = "pick another folder with --log-dir";
    if (err instanceof Deno.errors.NotCapable) {
      // Deno refuses system paths (/proc, /dev, …) whatever the permissions.
      return `the log folder ${name} is a system path the server may not write to; ${pick}.`;
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      return `the log folder ${name} is not writable by this user; change its owner or mode (chown/chmod), or ${pick}.`;
    }
    if (err instanceof Deno.errors.NotADirectory || err instanceof Deno.errors.AlreadyExists) {
      const file = fileInTheWay(dir);
      return file === undefined
        ? `the log folder ${name} is a file, not a folder; ${pick}.`
        : `the log folder ${name} cannot be created because ${JSON.stringify(file)} is a file; ${pick}.`;
    }
    const reason = err instanceof Error ? err.message.replace(/ \(os error \d+\).*$/s, "") : String(err);
    return `cannot use the log folder ${name} (${reason}); ${pick}.`;
  }
  return undefined;
}
