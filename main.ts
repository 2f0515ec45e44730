/**
 * Wirechat entry point: `main.ts serve [flags]` runs the server,
 * `main.ts client [flags]` the terminal client. The only module that reads
 * `Deno.args` and `Deno.env` and configures logging.
 *
 * @module
 */
import { dispose } from "@logtape/logtape";
import { VERSION } from "./protocol/mod.ts";

const USAGE = `Usage: wirechat <command> [options]

Commands:
  serve        run the chat server (see: wirechat serve --help)
  client       run the terminal client (see: wirechat client --help)
  healthcheck  ask a running server's /healthz, exit 0 when healthy (see: wirechat healthcheck --help)

  --version    print the version`;

/** Reads one environment variable, or undefined when unset or not permitted. */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

async function serve(args: string[]): Promise<number> {
  const { parseServerArgs, serverUsage, UsageError } = await import("./server/ops/config.ts");
  let parsed;
  try {
    parsed = parseServerArgs(args, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`wirechat serve: ${err.message}`);
    return 2;
  }
  if (parsed.kind === "help") {
    console.log(serverUsage());
    return 0;
  }
  if (parsed.kind === "version") {
    console.log(`wirechat ${VERSION}`);
    return 0;
  }
  const { config } = parsed;
  const { logDirProblem } = await import("./server/ops/log_dir_access.ts");
  const problem = logDirProblem(config.logDir);
  if (problem !== undefined) {
    console.error(`wirechat serve: ${problem}`);
    return 1;
  }
  const { listenPreflight, StartupError } = await import("./server/ops/startup_error.ts");
  try {
    listenPreflight(config);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    console.error(`wirechat serve: ${err.message}`);
    return 1;
  }
  const { configureServerLogging } = await import("./server/ops/log_sinks.ts");
  const { startServer } = await import("./server/server.ts");
  const serverLog = await configureServerLogging(config.logDir);
  let server;
  try {
    server = await startServer(config, { serverLog });
  } catch (err) {
    // A bad TLS file, Redis unreachable, a permission the executable lacks: one line, no stack trace.
    await dispose();
    const sentence = err instanceof StartupError
      ? err.message
      : `cannot start: ${err instanceof Error ? err.message : String(err)}`;
    console.error(`wirechat serve: ${sentence}`);
    return 1;
  }
  const { startupBanner } = await import("./server/ops/banner.ts");
  const logDir = config.logDir.startsWith("/") ? config.logDir : `${Deno.cwd()}/${config.logDir.replace(/^\.\//, "")}`;
  console.log(
    startupBanner({
      version: VERSION,
      tls: config.tlsCert !== undefined,
      addr: server.addr,
      tcpAddr: server.tcpAddr,
      riftchatAddr: server.riftchatAddr,
      logDir: logDir.replace(/\/+$/, ""),
      standalone: (Deno.build as { standalone?: boolean }).standalone === true,
      redis: config.redis,
    }).join("\n"),
  );
  const stop = () => void server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  // Windows has no SIGTERM (adding a listener throws there); Ctrl+Break is its other stop signal.
  Deno.addSignalListener(Deno.build.os === "windows" ? "SIGBREAK" : "SIGTERM", stop);
  await server.finished;
  await server.shutdown();
  await dispose();
  return 0;
}

async function client(args: string[]): Promise<number> {
  const { runClient } = await import("./client/terminal/main.ts");
  return await runClient(args, env);
}

/** Runs the command line `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "serve":
      return await serve(rest);
    case "client":
      return await client(rest);
    case "healthcheck": {
      const { runHealthcheck } = await import("./server/ops/healthcheck.ts");
      return await runHealthcheck(rest, env);
    }
    case "--version":
    case "-V":
      console.log(`wirechat ${VERSION}`);
      return 0;
    case "--help":
    case "-h":
    case undefined:
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`wirechat: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
