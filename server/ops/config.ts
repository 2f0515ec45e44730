/**
 * Server configuration: one table of options, each a flag, an environment
 * variable and a default. Flags win over the environment, the environment
 * over defaults.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_MAX_LINE, DEFAULT_REPLAY, HARD_FRAME_CAP } from "../../protocol/mod.ts";
import { DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND } from "../core/rate_limit.ts";
import { DEFAULT_REDIS_NODE_TTL_MS } from "../redis/presence.ts";
import {
  DEFAULT_CONNECTS_PER_MINUTE,
  DEFAULT_LIMIT_EXEMPT,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_MAX_CLIENTS_PER_ADDRESS,
  DEFAULT_REGISTRATION_TIMEOUT,
} from "../core/limits.ts";

/** Default outbound bound per client, in bytes of unsent output. */
export const DEFAULT_MAX_OUTBOUND = 1024 * 1024;
/** Default seconds between WebSocket pings; an unanswered ping closes the socket. */
export const DEFAULT_IDLE_TIMEOUT = 60;

/** The resolved server configuration. */
export interface ServerConfig {
  host: string;
  port: number;
  logDir: string;
  replay: number;
  maxLine: number;
  tcpPort: number | undefined;
  riftchatPort: number | undefined;
  rateBurst: number;
  ratePerSecond: number;
  maxOutbound: number;
  idleTimeout: number;
  maxClients: number;
  maxClientsPerAddress: number;
  connectsPerMinute: number;
  limitExempt: string;
  registrationTimeout: number;
  allowedOrigins: string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  redis: string | undefined;
  redisNodeTtl: number;
  redisPrefix: string;
}

type Kind = "string" | "int" | "port" | "optional-port" | "number";

interface OptionSpec {
  flag: string;
  key: keyof ServerConfig;
  kind: Kind;
  default: string | number | undefined;
  min?: number;
  max?: number;
  help: string;
}

/** Every server option, in `--help` order. */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { flag: "host", key: "host", kind: "string", default: "127.0.0.1", help: "address to listen on" },
  { flag: "port", key: "port", kind: "port", default: 12345, help: "HTTP/WebSocket port (0 = any free port)" },
  { flag: "log-dir", key: "logDir", kind: "string", default: "logs", help: "folder for message and server logs" },
  {
    flag: "replay",
    key: "replay",
    kind: "int",
    default: DEFAULT_REPLAY,
    min: 0,
    max: 10_000,
    help: "messages replayed on join (and the HISTORY maximum)",
  },
  {
    flag: "max-line",
    key: "maxLine",
    kind: "int",
    default: DEFAULT_MAX_LINE,
    min: 16,
    max: HARD_FRAME_CAP,
    help: "longest client line in code points",
  },
  {
    flag: "tcp-port",
    key: "tcpPort",
    kind: "optional-port",
    default: undefined,
    help: "also accept plain-TCP line clients on this port (off unless given)",
  },
  {
    flag: "riftchat-port",
    key: "riftchatPort",
    kind: "optional-port",
    default: undefined,
    help: "also accept RiftChat clients (seed 003, length-prefixed JSON over TCP) on this port (off unless given)",
  },
  {
    flag: "rate-burst",
    key: "rateBurst",
    kind: "int",
    default: DEFAULT_RATE_BURST,
    min: 1,
    max: 1_000_000,
    help: "lines a client may send at once before flood control",
  },
  {
    flag: "rate-per-second",
    key: "ratePerSecond",
    kind: "number",
    default: DEFAULT_RATE_PER_SECOND,
    min: 0,
    max: 1_000_000,
    help: "sustained lines per second per client (0 = no flood control)",
  },
  {
    flag: "max-outbound",
    key: "maxOutbound",
    kind: "int",
    default: DEFAULT_MAX_OUTBOUND,
    min: 1024,
    max: 1024 ** 3,
    help: "unsent output (bytes, plus 1 KiB per frame once backlogged 1 s) after which a slow client is disconnected",
  },
  {
    flag: "idle-timeout",
    key: "idleTimeout",
    kind: "int",
    default: DEFAULT_IDLE_TIMEOUT,
    min: 0,
    max: 86_400,
    help: "seconds between heartbeat pings; a dead peer is dropped (0 = off)",
  },
  {
    flag: "max-clients",
    key: "maxClients",
    kind: "int",
    default: DEFAULT_MAX_CLIENTS,
    min: 1,
    max: 1_000_000,
    help: "most open connections; beyond it: ERR Server full, close 1013",
  },
  {
    flag: "max-clients-per-address",
    key: "maxClientsPerAddress",
    kind: "int",
    default: DEFAULT_MAX_CLIENTS_PER_ADDRESS,
    min: 1,
    max: 1_000_000,
    help: "most open connections from one remote address",
  },
  {
    flag: "connects-per-minute",
    key: "connectsPerMinute",
    kind: "int",
    default: DEFAULT_CONNECTS_PER_MINUTE,
    min: 1,
    max: 1_000_000,
    help: "new connections per remote address per minute (burst); beyond it HTTP 429",
  },
  {
    flag: "limit-exempt",
    key: "limitExempt",
    kind: "string",
    default: DEFAULT_LIMIT_EXEMPT,
    help: "comma-separated addresses exempt from per-address limits (a local reverse proxy)",
  },
  {
    flag: "registration-timeout",
    key: "registrationTimeout",
    kind: "int",
    default: DEFAULT_REGISTRATION_TIMEOUT,
    min: 0,
    max: 86_400,
    help: "seconds to send a valid NICK before ERR Registration timeout, close 1008 (0 = off)",
  },
  {
    flag: "allowed-origins",
    key: "allowedOrigins",
    kind: "string",
    default: "",
    help: "comma-separated browser origins allowed to connect, or * (empty = the server's own)",
  },
  {
    flag: "tls-cert",
    key: "tlsCert",
    kind: "string",
    default: undefined,
    help: "PEM certificate chain file: serve https:// and wss:// (needs --tls-key)",
  },
  {
    flag: "tls-key",
    key: "tlsKey",
    kind: "string",
    default: undefined,
    help: "PEM private key file for --tls-cert",
  },
  {
    flag: "redis",
    key: "redis",
    kind: "string",
    default: undefined,
    help: "redis://host:port: share one room with other nodes through this Redis (off unless given)",
  },
  {
    flag: "redis-node-ttl",
    key: "redisNodeTtl",
    kind: "int",
    default: DEFAULT_REDIS_NODE_TTL_MS,
    min: 300,
    max: 600_000,
    help: "ms without a heartbeat before a node counts as dead and its members leave (beats every third)",
  },
  {
    flag: "redis-prefix",
    key: "redisPrefix",
    kind: "string",
    default: "wirechat:",
    help: "prefix of every Redis key: nodes with the same prefix share one room",
  },
];

/** The environment variable for a flag: `--log-dir` → `WIRECHAT_LOG_DIR`. */
export function envName(flag: string): string {
  return `WIRECHAT_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Every environment variable the server reads. */
export const SERVER_ENV_VARS: readonly string[] = SERVER_OPTIONS.map((o) => envName(o.flag));

/** Usage text for `--help` and usage errors. */
export function serverUsage(): string {
  const width = Math.max(...SERVER_OPTIONS.map((o) => o.flag.length)) + 2;
  const rows = SERVER_OPTIONS.map((o) => {
    const def = o.default === undefined ? "off" : String(o.default);
    return `  ${`--${o.flag}`.padEnd(width)} ${o.help} [${def}] (${envName(o.flag)})`;
  });
  return [
    "Usage: wirechat serve [options]",
    "",
    "Options (flags win over environment variables, which win over defaults):",
    ...rows,
    `  ${"--help".padEnd(width)} show this help`,
    `  ${"--version".padEnd(width)} print the version`,
  ].join("\n");
}

/** A usage error: one line for the user, then usage, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function convert(spec: OptionSpec, raw: string, source: string): string | number | undefined {
  if (spec.kind === "string") return raw;
  const bad = (why: string) => new UsageError(`invalid value for ${source}: ${JSON.stringify(raw)} (${why})`);
  if (spec.kind === "optional-port" && raw === "") return undefined;
  const n = spec.kind === "number" ? Number(raw) : /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (raw.trim() === "" || !Number.isFinite(n)) {
    throw bad(spec.kind === "number" ? "expected a number" : "expected an integer");
  }
  const [min, max] = spec.kind === "port" || spec.kind === "optional-port"
    ? [0, 65535]
    : [spec.min ?? -Infinity, spec.max ?? Infinity];
  if (n < min || n > max) throw bad(`must be between ${min} and ${max}`);
  return n;
}

/** The outcome of reading the command line. */
export type ParsedServerArgs =
  | { kind: "run"; config: ServerConfig }
  | { kind: "help" }
  | { kind: "version" };

/**
 * Resolves the configuration from flags and environment.
 *
 * @throws {UsageError} on an unknown or malformed flag or value.
 */
export function parseServerArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ParsedServerArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options: Record<string, { type: "string" | "boolean" }> = {
      help: { type: "boolean" },
      version: { type: "boolean" },
    };
    for (const o of SERVER_OPTIONS) options[o.flag] = { type: "string" };
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UsageError(msg);
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const config: Record<string, unknown> = {};
  for (const o of SERVER_OPTIONS) {
    const flagValue = values[o.flag];
    const envValue = env(envName(o.flag));
    if (typeof flagValue === "string") config[o.key] = convert(o, flagValue, `--${o.flag}`);
    else if (envValue !== undefined) config[o.key] = convert(o, envValue, envName(o.flag));
    else config[o.key] = o.default;
  }
  return { kind: "run", config: config as unknown as ServerConfig };
}

/** The defaults, with overrides (tests and embedding). */
export function defaultServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const parsed = parseServerArgs([], () => undefined);
  if (parsed.kind !== "run") throw new Error("unreachable");
  return { ...parsed.config, ...overrides };
}
