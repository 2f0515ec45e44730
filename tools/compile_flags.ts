/**
 * What `deno task compile` builds: the targets, the executables, their entry
 * points and the permissions baked into each. Shared by `tools/compile.ts`
 * and `tests/compile_path_test.ts`, so the test runs exactly what ships.
 *
 * @module
 */
import { STANDALONE_LOG_DIRS } from "../server/ops/log_dir_access.ts";

/** Every release target (`deno compile --target`). */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** The output folder, relative to the repository root. */
export const DIST_DIR = "dist";

const LOG_DIRS = STANDALONE_LOG_DIRS.join(",");

/**
 * Read-only folder for the server's own files: `--tls-cert`/`--tls-key` PEM
 * files for serving `wss://` without a proxy.
 */
export const CONFIG_DIR = "/etc/wirechat";

/**
 * The environment variables the server reads: its own `WIRECHAT_*` options,
 * and the two that npm `ws` (the WebSocket frame layer) reads when it loads
 * (`WS_NO_BUFFER_UTIL`, `WS_NO_UTF_8_VALIDATE`: without them it would stop
 * with a permission error). Every npm dependency must live with that:
 * ioredis, which lists the whole environment at import, was replaced for
 * this; the compile-path test runs `--redis` with these flags.
 */
export const ENV_PERMISSION = "--allow-env=WIRECHAT_*,WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE";

/**
 * The only system information the server reads: this machine's interface
 * addresses and hostname, the Host names it answers to when listening on
 * `0.0.0.0` or `::` (`server/transports/allowed_hosts.ts`).
 */
export const SYS_PERMISSION = "--allow-sys=hostname,networkInterfaces";

/**
 * The server's permissions: any network (listen on the configured address,
 * reach Redis), read and write only the standalone log folders, read
 * {@linkcode CONFIG_DIR}, and only the `WIRECHAT_*` environment variables. `--no-prompt`: a missing
 * permission is an error, never an interactive question (services have no
 * one to ask).
 */
export const SERVER_PERMISSIONS: readonly string[] = [
  "--no-prompt",
  "--allow-net",
  `--allow-read=${LOG_DIRS},${CONFIG_DIR}`,
  `--allow-write=${LOG_DIRS}`,
  ENV_PERMISSION,
  SYS_PERMISSION,
];

/**
 * The all-in-one `wirechat` executable (server, terminal client and
 * healthcheck): like the server, but it may read any file, because the
 * terminal client's `--ca <file>` (and `serve --tls-cert`) name files
 * anywhere, and it reads the terminal's `NO_COLOR` and `TERM`. It still
 * writes only the log folders. Services and containers
 * use `wirechat-server`.
 */
export const WIRECHAT_PERMISSIONS: readonly string[] = [
  "--no-prompt",
  "--allow-net",
  "--allow-read",
  `--allow-write=${LOG_DIRS}`,
  `${ENV_PERMISSION},NO_COLOR,TERM`,
  SYS_PERMISSION,
];

/** One executable to build. */
export interface Executable {
  /** File name without target suffix or `.exe`. */
  name: string;
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Permission flags baked in (also used by the compile-path test). */
  permissions: readonly string[];
}

/**
 * The executables: `wirechat` (`serve`, `client`, `healthcheck`) and the
 * server-only alias `wirechat-server`, which runs `serve` with narrower
 * permissions.
 */
export const EXECUTABLES: readonly Executable[] = [
  { name: "wirechat", entry: "main.ts", permissions: WIRECHAT_PERMISSIONS },
  { name: "wirechat-server", entry: "server_main.ts", permissions: SERVER_PERMISSIONS },
];

/** The output file of `exe` for `target`, e.g. `dist/wirechat-server-x86_64-unknown-linux-gnu`. */
export function outputPath(exe: Executable, target: string): string {
  return `${DIST_DIR}/${exe.name}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The full `deno compile` argument list for one executable and target. */
export function compileArgs(exe: Executable, target: string): string[] {
  return [
    "compile",
    "--frozen-lockfile",
    ...exe.permissions,
    "--target",
    target,
    "--output",
    outputPath(exe, target),
    exe.entry,
  ];
}
