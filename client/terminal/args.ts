/**
 * Command-line flags of the terminal client.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Host offered (and used) when none is given. */
export const DEFAULT_HOST = "localhost";
/** Port offered (and used) when none is given. */
export const DEFAULT_PORT = 12345;

/** What the flags ask for; a value left undefined is prompted for (interactive) or defaulted (pipe). */
export interface ClientArgs {
  host?: string;
  port?: number;
  nick?: string;
  url?: string;
  noColor: boolean;
  /** PEM file of a CA (or self-signed certificate) to trust for `wss://`. */
  ca?: string;
}

/** The parse result: run, or print help/version. */
export type ParsedClientArgs =
  | { kind: "run"; args: ClientArgs }
  | { kind: "help" }
  | { kind: "version" };

/** A bad flag or value: the client prints this one sentence and exits 2. */
export class ClientUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientUsageError";
  }
}

/** The `--help` text. */
export function clientUsage(): string {
  return `Usage: wirechat client [options]

Options:
  --host <name>     server host (prompted, default ${DEFAULT_HOST})
  --port <n>        server port (prompted, default ${DEFAULT_PORT})
  --nick <name>     nickname (prompted)
  --url <url>       ws://… or wss://… URL instead of --host/--port
  --ca <file>       PEM certificate to trust for wss:// (e.g. a self-signed one)
  --no-color        no colours (also: NO_COLOR=1, TERM=dumb)
  --help            show this help
  --version         print the version

Interactive (stdin is a terminal): type a message and press Enter.
  /who [pattern]  /nick <new>  /msg <nick> <text>  /history [n]  /help  /quit
Pipe mode (stdin is not a terminal): every input line is sent (a line that
starts with / is a command), every received line is printed to stdout; on
end of input the client sends QUIT and exits.`;
}

/** Parses a port number, or throws a usage error naming the value. */
export function parsePort(raw: string, source = "--port"): number {
  const n = Number(raw.trim());
  if (!/^\d{1,5}$/.test(raw.trim()) || n < 1 || n > 65535) {
    throw new ClientUsageError(
      `invalid value for ${source}: ${JSON.stringify(raw)}; give a port number from 1 to 65535.`,
    );
  }
  return n;
}

/** Checks a `--url`: ws:// or wss:// with a host. */
export function parseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientUsageError(
      `invalid value for --url: ${JSON.stringify(raw)}; give a ws:// or wss:// URL, e.g. ws://127.0.0.1:12345/.`,
    );
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    const web = url.protocol === "http:" || url.protocol === "https:";
    const example = web ? url.href.replace(/^http/, "ws") : "ws://127.0.0.1:12345/";
    throw new ClientUsageError(
      `invalid value for --url: ${JSON.stringify(raw)}; give a ws:// or wss:// URL, e.g. ${example}.`,
    );
  }
  return url.href;
}

/**
 * Parses the client flags.
 *
 * @throws {ClientUsageError} on an unknown flag, a missing or malformed value.
 *
 * @example
 * ```ts
 * import { parseClientArgs } from "./args.ts";
 * const p = parseClientArgs(["--nick", "bot", "--port", "8080"]);
 * if (p.kind !== "run" || p.args.port !== 8080 || p.args.nick !== "bot") throw new Error();
 * ```
 */
export function parseClientArgs(argv: string[]): ParsedClientArgs {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        nick: { type: "string" },
        url: { type: "string" },
        ca: { type: "string" },
        "no-color": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
      },
    }).values;
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0].replace(/\.$/, "") : String(err);
    throw new ClientUsageError(`${why} (wirechat client --help lists every option).`);
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values.url !== undefined && (values.host !== undefined || values.port !== undefined)) {
    throw new ClientUsageError("--url cannot be combined with --host or --port; give either the URL or host and port.");
  }
  if (values.host !== undefined && values.host.trim() === "") {
    throw new ClientUsageError("--host must not be empty; give a host name or address, e.g. --host 127.0.0.1.");
  }
  const args: ClientArgs = { noColor: values["no-color"] };
  if (values.host !== undefined) args.host = values.host.trim();
  if (values.port !== undefined) args.port = parsePort(values.port);
  if (values.nick !== undefined) args.nick = values.nick;
  if (values.url !== undefined) args.url = parseUrl(values.url);
  if (values.ca !== undefined) {
    if (values.ca === "") throw new ClientUsageError("--ca needs a file name, e.g. --ca server-cert.pem.");
    args.ca = values.ca;
  }
  return { kind: "run", args };
}

/** The WebSocket URL for a host and port (IPv6 literals get brackets). */
export function urlFor(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `ws://${h}:${port}/`;
}
