/**
 * Server configuration: one table of options, each a flag, an environment
 * variable and a default. Flags win over the environment, the environment
 * over defaults.
 *
 * @module
 */
import { DEFAULT_MAX_LINE, DEFAULT_REPLAY, HARD_FRAME_CAP, MAX_BAN_MINUTES } from "../../protocol/mod.ts";
import { DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND } from "../core/rate_limit.ts";
import { DEFAULT_REDIS_NODE_TTL_MS } from "../redis/presence.ts";
import { DEFAULT_BAN_MINUTES } from "../core/ban_list.ts";
import { DEFAULT_CLOSE_TIMEOUT } from "../core/connection.ts";
import { DEFAULT_HEADER_TIMEOUT } from "../transports/http_listener.ts";
import {
  DEFAULT_CONNECTS_PER_MINUTE,
  DEFAULT_LIMIT_EXEMPT,
  DEFAULT_LISTEN_BACKLOG,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_MAX_CLIENTS_PER_ADDRESS,
  DEFAULT_REGISTRATION_TIMEOUT,
} from "../core/limits.ts";
import { addressList, hostList, nonEmpty, type OptionCheck, originList, peerList, redisUrl } from "./option_checks.ts";
import { DEFAULT_METRICS_PEERS } from "./metrics_access.ts";
import { DEFAULT_ALLOWED_HOSTS } from "../transports/allowed_hosts.ts";

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
  listenBacklog: number;
  headerTimeout: number;
  closeTimeout: number;
  allowedOrigins: string;
  allowedHosts: string;
  metricsPeers: string;
  metricsToken: string | undefined;
  metricsTokenFile: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  redis: string | undefined;
  redisNodeTtl: number;
  redisPrefix: string;
  adminToken: string | undefined;
  adminTokenFile: string | undefined;
  banMinutes: number;
  forbiddenWordsFile: string | undefined;
}

type Kind = "string" | "int" | "port" | "optional-port" | "number";

interface OptionSpec {
  flag: string;
  key: keyof ServerConfig;
  kind: Kind;
  default: string | number | undefined;
  min?: number;
  max?: number;
  /** For text options: what a valid value looks like (a bad one is a usage error). */
  check?: OptionCheck;
  /** Read from the environment only, never a flag (a secret: a command line is visible to every local user). */
  envOnly?: boolean;
  help: string;
}

/** Every server option, in `--help` order. */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { flag: "host", key: "host", kind: "string", default: "127.0.0.1", check: nonEmpty, help: "address to listen on" },
  { flag: "port", key: "port", kind: "port", default: 12345, help: "HTTP/WebSocket port (0 = any free port)" },
  {
    flag: "log-dir",
    key: "logDir",
    kind: "string",
    default: "logs",
    check: nonEmpty,
    help: "folder for message and server logs",
  },
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
    help: "also accept RiftChat clients (length-prefixed JSON over TCP) on this port (off unless given)",
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
    help: "unsent output (bytes) a client may hold; above it for 3 s (or 16 times above it) it is disconnected",
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
    check: addressList,
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
    flag: "listen-backlog",
    key: "listenBacklog",
    kind: "int",
    default: DEFAULT_LISTEN_BACKLOG,
    min: 1,
    max: 65_535,
    help: "connections each listener lets wait to be accepted (capped by net.core.somaxconn); beyond it new ones retry",
  },
  {
    flag: "header-timeout",
    key: "headerTimeout",
    kind: "number",
    default: DEFAULT_HEADER_TIMEOUT,
    min: 0.1,
    max: 3600,
    help: "seconds a new connection may take to send its complete HTTP request headers",
  },
  {
    flag: "close-timeout",
    key: "closeTimeout",
    kind: "number",
    default: DEFAULT_CLOSE_TIMEOUT,
    min: 0.1,
    max: 3600,
    help: "seconds a closing connection may take to complete the close handshake before it is dropped",
  },
  {
    flag: "allowed-origins",
    key: "allowedOrigins",
    kind: "string",
    default: "",
    check: originList,
    help: "comma-separated browser origins allowed to connect, or * (empty = the server's own)",
  },
  {
    flag: "allowed-hosts",
    key: "allowedHosts",
    kind: "string",
    default: DEFAULT_ALLOWED_HOSTS,
    check: hostList,
    help:
      "comma-separated extra Host names served (DNS-rebinding guard), or * for any; always served: the listening address, localhost, 127.0.0.1, [::1] and, on 0.0.0.0/::, this machine's addresses and hostname",
  },
  {
    flag: "metrics-peers",
    key: "metricsPeers",
    kind: "string",
    default: DEFAULT_METRICS_PEERS,
    check: peerList,
    help:
      "comma-separated peer addresses that may read /metrics and the /healthz counts without a token (loopback = any loopback address; empty = token only)",
  },
  {
    flag: "metrics-token",
    key: "metricsToken",
    kind: "string",
    default: undefined,
    envOnly: true,
    check: nonEmpty,
    help: "bearer token that opens /metrics and the /healthz counts to any peer (Authorization: Bearer <token>)",
  },
  {
    flag: "metrics-token-file",
    key: "metricsTokenFile",
    kind: "string",
    default: undefined,
    check: nonEmpty,
    help: "file whose first line is the /metrics bearer token (instead of WIRECHAT_METRICS_TOKEN)",
  },
  {
    flag: "tls-cert",
    key: "tlsCert",
    kind: "string",
    default: undefined,
    check: nonEmpty,
    help: "PEM certificate chain file: serve https:// and wss:// (needs --tls-key)",
  },
  {
    flag: "tls-key",
    key: "tlsKey",
    kind: "string",
    default: undefined,
    check: nonEmpty,
    help: "PEM private key file for --tls-cert",
  },
  {
    flag: "redis",
    key: "redis",
    kind: "string",
    default: undefined,
    check: redisUrl,
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
    check: nonEmpty,
    help: "prefix of every Redis key: nodes with the same prefix share one room",
  },
  {
    flag: "admin-token",
    key: "adminToken",
    kind: "string",
    default: undefined,
    envOnly: true,
    help: "operator token for ADMIN <token> (unset and no file: ADMIN is refused)",
  },
  {
    flag: "admin-token-file",
    key: "adminTokenFile",
    kind: "string",
    default: undefined,
    help:
      "file whose first line is the ADMIN token (e.g. a container or systemd secret), instead of WIRECHAT_ADMIN_TOKEN",
  },
  {
    flag: "ban-minutes",
    key: "banMinutes",
    kind: "int",
    default: DEFAULT_BAN_MINUTES,
    min: 1,
    max: MAX_BAN_MINUTES,
    help: "minutes a BAN lasts when the admin gives none",
  },
  {
    flag: "forbidden-words-file",
    key: "forbiddenWordsFile",
    kind: "string",
    default: undefined,
    help: "file of forbidden words, one per line: messages and nicknames containing one are refused (off unless given)",
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
  const flags = SERVER_OPTIONS.filter((o) => !o.envOnly);
  const width = Math.max(...flags.map((o) => o.flag.length)) + 2;
  const def = (o: OptionSpec) => o.default === undefined ? "off" : String(o.default);
  const rows = flags.map((o) => `  ${`--${o.flag}`.padEnd(width)} ${o.help} [${def(o)}] (${envName(o.flag)})`);
  const envOnly = SERVER_OPTIONS.filter((o) => o.envOnly).map((o) => `  ${envName(o.flag)}  ${o.help} [${def(o)}]`);
  return [
    "Usage: wirechat serve [options]",
    "",
    "Options (flags win over environment variables, which win over defaults):",
    ...rows,
    `  ${"--help".padEnd(width)} show this help`,
    `  ${"--version".padEnd(width)} print the version`,
    "",
    "Environment only (secrets: never on a command line, which every local user can read):",
    ...envOnly,
  ].join("\n");
}

/** A usage error: one sentence naming the flag and the fix, exit 2. */
export class UsageError extends Error {
  /** Stable code. */
  readonly code = "usage";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What a number option expects, in words. */
function expectation(spec: OptionSpec): string {
  if (spec.kind === "port") return "a port number from 0 to 65535 (0 picks a free one)";
  if (spec.kind === "optional-port") return "a port number from 0 to 65535 (leave the option out to turn it off)";
  const range = `from ${spec.min ?? "-∞"} to ${spec.max ?? "∞"}`;
  return spec.kind === "number" ? `a number ${range}` : `a whole number ${range}`;
}

function convert(spec: OptionSpec, raw: string, source: string): string | number | undefined {
  const bad = (expected: string) =>
    new UsageError(`invalid value for ${source}: ${JSON.stringify(raw)}; give ${expected}.`);
  if (spec.kind === "string") {
    const problem = spec.check?.(raw);
    if (problem !== undefined) throw bad(problem);
    return raw;
  }
  if (spec.kind === "optional-port" && raw === "") return undefined;
  const n = spec.kind === "number" ? Number(raw) : /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  const [min, max] = spec.kind === "port" || spec.kind === "optional-port"
    ? [0, 65535]
    : [spec.min ?? -Infinity, spec.max ?? Infinity];
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw bad(expectation(spec));
  return n;
}

/** The outcome of reading the command line. */
export type ParsedServerArgs =
  | { kind: "run"; config: ServerConfig }
  | { kind: "help" }
  | { kind: "version" };

/** Edit distance, for "did you mean" on a mistyped flag. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The known flag closest to a mistyped one, if it is close. */
function closestFlag(name: string): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of SERVER_OPTIONS) {
    if (o.envOnly) continue;
    const d = distance(name, o.flag);
    if (d < bestD) [best, bestD] = [o.flag, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/**
 * Reads `--flag value` and `--flag=value` pairs. A value may start with `-`
 * (`--replay -1` is read as the value -1 and refused for its range, not as
 * an ambiguous flag).
 */
function readFlags(args: string[]): { values: Map<string, string>; help: boolean; version: boolean } {
  const values = new Map<string, string>();
  let help = false;
  let version = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--version" || arg === "-V") {
      version = true;
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      throw new UsageError(
        `unexpected argument ${
          JSON.stringify(arg)
        }: every setting is a --flag with a value, e.g. --port 4000 (wirechat serve --help lists them).`,
      );
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const secret = SERVER_OPTIONS.find((o) => o.flag === name && o.envOnly);
    if (secret) {
      throw new UsageError(
        `--${name} is not a flag: a command line is visible to every local user; set ${
          envName(name)
        } or use --${name}-file.`,
      );
    }
    if (!SERVER_OPTIONS.some((o) => o.flag === name)) {
      const near = closestFlag(name);
      throw new UsageError(
        `unknown option --${name}${
          near ? `; did you mean --${near}?` : ""
        } (wirechat serve --help lists every option).`,
      );
    }
    const value: string | undefined = eq < 0 ? args[i + 1] : arg.slice(eq + 1);
    if (eq < 0) {
      const next = value;
      const nextIsFlag = next !== undefined && /^--[a-z]/.test(next);
      if (next === undefined || nextIsFlag) {
        const example = SERVER_OPTIONS.find((o) => o.flag === name)!.default;
        throw new UsageError(
          `--${name} needs a value${nextIsFlag ? ` before ${next}` : ""}, e.g. --${name} ${example ?? "<value>"}.`,
        );
      }
      i++;
    }
    values.set(name, value);
  }
  return { values, help, version };
}

/**
 * Resolves the configuration from flags and environment.
 *
 * @throws {UsageError} on an unknown or malformed flag or value, one
 * sentence naming the flag (or variable) and what it expects.
 */
export function parseServerArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ParsedServerArgs {
  const flags = readFlags(args);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };
  const config: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  for (const o of SERVER_OPTIONS) {
    const flagValue = flags.values.get(o.flag);
    const envValue = env(envName(o.flag));
    if (flagValue !== undefined) {
      config[o.key] = convert(o, flagValue, `--${o.flag}`);
      source[o.key] = `--${o.flag}`;
    } else if (envValue !== undefined) {
      config[o.key] = convert(o, envValue, envName(o.flag));
      source[o.key] = envName(o.flag);
    } else config[o.key] = o.default;
  }
  // An empty secret or file name counts as unset (compose passes an unset `${VAR:-}` as "").
  for (const key of ["adminToken", "adminTokenFile", "forbiddenWordsFile"] as const) {
    if (config[key] === "") config[key] = undefined;
  }
  const c = config as unknown as ServerConfig;
  if (c.adminToken !== undefined && c.adminTokenFile !== undefined) {
    throw new UsageError(
      `${source.adminTokenFile} and ${envName("admin-token")} are both set: give the admin token one way.`,
    );
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw new UsageError(
      c.tlsCert !== undefined
        ? `${source.tlsCert} needs --tls-key too (the PEM private key file for that certificate).`
        : `${source.tlsKey} needs --tls-cert too (the PEM certificate chain file for that key).`,
    );
  }
  if (c.metricsToken !== undefined && c.metricsTokenFile !== undefined) {
    throw new UsageError(
      `${source.metricsTokenFile} and ${envName("metrics-token")} are both set: give the /metrics token one way.`,
    );
  }
  const ports = [["port", c.port], ["tcp-port", c.tcpPort], ["riftchat-port", c.riftchatPort]] as const;
  for (const [i, [flag, port]] of ports.entries()) {
    for (const [other, otherPort] of ports.slice(i + 1)) {
      if (port !== undefined && port !== 0 && port === otherPort) {
        throw new UsageError(`--${other} ${port} is the same port as --${flag}; give each listener its own port.`);
      }
    }
  }
  return { kind: "run", config: c };
}

/** The defaults, with overrides (tests and embedding). */
export function defaultServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const parsed = parseServerArgs([], () => undefined);
  if (parsed.kind !== "run") throw new Error("unreachable");
  return { ...parsed.config, ...overrides };
}
