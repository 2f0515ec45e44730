/**
 * Conformance scripts: a small send/expect format that drives a real server
 * over WebSocket or plain TCP. One scenario per `tests/conformance/*.chat`
 * file; `docs/PROTOCOL.md` quotes them verbatim.
 *
 * The format, one step per line:
 *
 * ```text
 * # comment                    ignored, as are blank lines
 * @server --flag value ...     server flags for this script (first lines only); the file of a
 *                              `--…-file` flag is named relative to tests/conformance/
 * @env NAME=value              an environment variable of the script's server (first lines only)
 * alice: connect               open a connection for client "alice"
 * alice: join                  connect, read the greeting up to "SYS Send: NICK <name>",
 *                              send "NICK alice", expect "SYS alice joined the chat!"
 * alice> TEXT                  alice sends the line TEXT
 * alice< TEXT                  alice's next line is TEXT
 * alice: silent                nothing more has arrived for alice (checked with a PING round trip)
 * alice: closed 1000           the server closes alice's connection, after every line was expected
 *                              (the code is checked over WebSocket; TCP has no close codes)
 * alice: disconnect            alice drops the connection without QUIT
 * [tcp] STEP / [ws] STEP       a step for one transport only ([ws] covers both WebSocket runs)
 * repeat N: STEP               the step N times
 * ```
 *
 * Placeholders, in sent and expected lines: `<U+0007>` is that code point,
 * `<x*2049>` is the character `x` 2049 times, `<0xFF>` a raw byte (sent over
 * TCP only). In expected lines only: `<ts>` is a timestamp
 * (`2026-11-22T03:11:07.123Z`), `<ts:a>` a timestamp that must be the same
 * wherever `<ts:a>` appears in the script, `<*>` any text. Any other `<...>`
 * (like `<name>`) is literal. When the script ends, every client still
 * connected must be silent.
 *
 * @module
 */
import { BATCH_SUBPROTOCOL } from "../protocol/mod.ts";
import { parseServerArgs, type ServerConfig } from "../server/ops/config.ts";
import { startServer } from "../server/server.ts";
import { connectTcp, connectWs, LINE_WAIT_MS, type LineClient } from "./line_client.ts";

/**
 * A transport a script runs over: WebSocket with one line per frame, WebSocket
 * offering `wirechat.batch` (several lines per server frame), or plain TCP.
 */
export type Transport = "ws" | "ws-batch" | "tcp";

/** The transport family a `[ws]` / `[tcp]` step filter names. */
export type TransportFilter = "ws" | "tcp";

/** The filter family of a transport. */
export function familyOf(transport: Transport): TransportFilter {
  return transport === "tcp" ? "tcp" : "ws";
}

/** One parsed step. */
export type Step =
  & { line: number; only?: TransportFilter; client: string }
  & (
    | { kind: "send"; text: string }
    | { kind: "expect"; text: string }
    | { kind: "connect" }
    | { kind: "join" }
    | { kind: "silent" }
    | { kind: "closed"; code?: number }
    | { kind: "disconnect" }
  );

/** A parsed script. */
export interface Script {
  name: string;
  /** Server flags from `@server` lines. */
  serverArgs: string[];
  /** The server's environment from `@env` lines. */
  env: Record<string, string>;
  steps: Step[];
}

const STEP_RE = /^(?:\[(ws|tcp)\] )?(?:repeat (\d+): )?([A-Za-z0-9_]+)(> |< |: )(.*)$/;
const TS = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;
const PLACEHOLDER_RE = /<(U\+[0-9A-Fa-f]{4,6}|0x[0-9A-Fa-f]{2}|[^<>]\*\d+|ts|ts:\w+|\*)>/gu;

/** Expands `<c*N>` (the character c, N times; c may be any code point). */
function repeated(p: string): string {
  const star = p.lastIndexOf("*");
  return p.slice(0, star).repeat(Number(p.slice(star + 1)));
}

/** Parses a script; throws with the line number on a malformed line. */
export function parseScript(name: string, source: string): Script {
  const script: Script = { name, serverArgs: [], env: {}, steps: [] };
  source.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    const at = i + 1;
    if (line.trim() === "" || line.startsWith("#")) return;
    if (line.startsWith("@server ")) {
      if (script.steps.length > 0) throw new Error(`${name}:${at}: @server must come before the steps`);
      script.serverArgs.push(...line.slice(8).trim().split(/\s+/));
      return;
    }
    if (line.startsWith("@env ")) {
      if (script.steps.length > 0) throw new Error(`${name}:${at}: @env must come before the steps`);
      const m = /^@env (WIRECHAT_[A-Z_]+)=(.*)$/.exec(line);
      if (!m) throw new Error(`${name}:${at}: expected @env WIRECHAT_NAME=value`);
      script.env[m[1]] = m[2];
      return;
    }
    const m = STEP_RE.exec(line);
    if (!m) throw new Error(`${name}:${at}: not a step: ${JSON.stringify(line)}`);
    const [, only, times, client, arrow, rest] = m;
    const base = { line: at, client, ...(only ? { only: only as TransportFilter } : {}) };
    let step: Step;
    if (arrow === "> ") step = { ...base, kind: "send", text: rest };
    else if (arrow === "< ") step = { ...base, kind: "expect", text: rest };
    else {
      const [verb, arg, extra] = rest.split(" ");
      if (extra !== undefined) throw new Error(`${name}:${at}: too many words: ${JSON.stringify(rest)}`);
      if (verb === "closed") {
        if (arg !== undefined && !/^\d{4}$/.test(arg)) throw new Error(`${name}:${at}: bad close code ${arg}`);
        step = { ...base, kind: "closed", ...(arg ? { code: Number(arg) } : {}) };
      } else if (arg !== undefined) {
        throw new Error(`${name}:${at}: ${verb} takes no argument`);
      } else if (verb === "connect" || verb === "join" || verb === "silent" || verb === "disconnect") {
        step = { ...base, kind: verb };
      } else throw new Error(`${name}:${at}: unknown action ${JSON.stringify(verb)}`);
    }
    for (let n = 0; n < Number(times ?? 1); n++) script.steps.push(step);
  });
  return script;
}

const encoder = new TextEncoder();

/** Expands the placeholders of a line to send; bytes when it holds a raw byte. */
export function expandSend(text: string): string | Uint8Array {
  const parts: (string | number)[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    parts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const p = m[1];
    if (p.startsWith("U+")) parts.push(String.fromCodePoint(parseInt(p.slice(2), 16)));
    else if (p.startsWith("0x")) parts.push(parseInt(p.slice(2), 16));
    else if (/^[^<>]\*\d+$/u.test(p)) parts.push(repeated(p));
    else throw new Error(`placeholder ${m[0]} is only for expected lines`);
  }
  parts.push(text.slice(last));
  if (parts.every((p) => typeof p === "string")) return parts.join("");
  const bytes: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") bytes.push(p);
    else bytes.push(...encoder.encode(p));
  }
  bytes.push(0x0a);
  return Uint8Array.from(bytes);
}

/** Matches one received line against an expected line; binds `<ts:name>`. */
export function matchExpected(text: string, actual: string, bound: Map<string, string>): boolean {
  const names: string[] = [];
  let source = "";
  let last = 0;
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    source += literal(text.slice(last, m.index));
    last = m.index + m[0].length;
    const p = m[1];
    if (p === "ts") source += `(?:${TS})`;
    else if (p === "*") source += "(?:.*)";
    else if (p.startsWith("ts:")) {
      const known = bound.get(p);
      if (known !== undefined) source += literal(known);
      else {
        names.push(p);
        source += `(${TS})`;
      }
    } else if (p.startsWith("U+")) source += literal(String.fromCodePoint(parseInt(p.slice(2), 16)));
    else if (p.startsWith("0x")) throw new Error(`raw byte ${m[0]} cannot be expected`);
    else source += literal(repeated(p));
  }
  source += literal(text.slice(last));
  const m = new RegExp(`^${source}$`, "su").exec(actual);
  if (!m) return false;
  names.forEach((name, i) => bound.set(name, m[i + 1]));
  return true;
}

/** Server flags a script may not set (the runner picks ports and folders). */
const RESERVED_FLAGS = ["--port", "--tcp-port", "--log-dir", "--host"];

/** The server configuration for a script: its flags, on free ports, with a temporary log folder. */
export function scriptConfig(script: Script, logDir: string): ServerConfig {
  for (const flag of script.serverArgs) {
    if (RESERVED_FLAGS.includes(flag)) throw new Error(`${script.name}: @server may not set ${flag}`);
  }
  const args = script.serverArgs.map((arg, i) =>
    /^--[\w-]+-file$/.test(script.serverArgs[i - 1] ?? "")
      ? new URL(`./conformance/${arg}`, import.meta.url).pathname
      : arg
  );
  const parsed = parseServerArgs(args, (name) => script.env[name]);
  if (parsed.kind !== "run") throw new Error(`${script.name}: @server must give options`);
  return { ...parsed.config, host: "127.0.0.1", port: 0, tcpPort: 0, idleTimeout: 0, logDir };
}

/** Runs `script` over `transport` against a fresh server; throws on the first mismatch. */
export async function runScript(script: Script, transport: Transport): Promise<void> {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-conformance-" });
  const server = await startServer(scriptConfig(script, logDir));
  const clients = new Map<string, LineClient>();
  const bound = new Map<string, string>();
  let syncs = 0;
  try {
    const connect = async () =>
      transport !== "tcp"
        ? await connectWs(
          `ws://127.0.0.1:${server.addr.port}/`,
          transport === "ws-batch" ? [BATCH_SUBPROTOCOL] : undefined,
        )
        : await connectTcp(server.tcpAddr!.port);

    for (const step of script.steps) {
      if (step.only && step.only !== familyOf(transport)) continue;
      const where = `${script.name}:${step.line} (${transport}, ${step.client})`;
      const fail = (why: string): never => {
        throw new Error(`${where}: ${why}`);
      };
      const client = clients.get(step.client);
      const need = () => client ?? fail("not connected");
      const expectLine = async (c: LineClient, text: string) => {
        let actual: string;
        try {
          actual = await c.next(LINE_WAIT_MS);
        } catch (err) {
          return fail(`expected ${JSON.stringify(text)}: ${(err as Error).message}`);
        }
        if (!matchExpected(text, actual, bound)) {
          fail(`expected ${JSON.stringify(text)}, got ${JSON.stringify(actual)}`);
        }
      };
      switch (step.kind) {
        case "connect":
        case "join": {
          if (client && !client.isClosed) fail("already connected");
          const c = await connect();
          clients.set(step.client, c);
          if (step.kind === "join") {
            for (let n = 0;; n++) {
              const line = await c.next(LINE_WAIT_MS);
              if (line === "SYS Send: NICK <name>") break;
              if (!line.startsWith("SYS ") || n > 10) fail(`unexpected greeting line ${JSON.stringify(line)}`);
            }
            c.send(`NICK ${step.client}`);
            await expectLine(c, `SYS ${step.client} joined the chat!`);
          }
          break;
        }
        case "send": {
          const payload = expandSend(step.text);
          if (typeof payload !== "string" && transport !== "tcp") fail("raw bytes need a [tcp] step");
          need().send(payload);
          break;
        }
        case "expect":
          await expectLine(need(), step.text);
          break;
        case "silent": {
          const c = need();
          const token = `sync-${++syncs}`;
          c.send(`PING ${token}`);
          await expectLine(c, `PONG ${token}`);
          break;
        }
        case "closed": {
          const c = need();
          const info = await Promise.race([
            c.closed,
            new Promise<never>((_, reject) => {
              const t = setTimeout(
                () => reject(new Error(`${where}: not closed within ${LINE_WAIT_MS} ms`)),
                LINE_WAIT_MS,
              );
              c.closed.finally(() => clearTimeout(t));
            }),
          ]);
          const left = c.unread();
          if (left.length) fail(`closed with unexpected lines ${JSON.stringify(left)}`);
          if (transport !== "tcp" && step.code !== undefined && info.code !== step.code) {
            fail(`expected close code ${step.code}, got ${info.code} ${JSON.stringify(info.reason)}`);
          }
          await c.disconnect();
          break;
        }
        case "disconnect": {
          const c = need();
          const left = c.unread();
          if (left.length) fail(`unexpected lines before disconnect ${JSON.stringify(left)}`);
          await c.disconnect();
          break;
        }
      }
    }
    for (const [name, c] of clients) {
      if (c.isClosed) continue;
      const token = `sync-${++syncs}`;
      c.send(`PING ${token}`);
      const line = await c.next(LINE_WAIT_MS).catch((err) => `(${(err as Error).message})`);
      if (line !== `PONG ${token}`) {
        throw new Error(`${script.name} (${transport}): ${name} got unexpected ${JSON.stringify(line)} at the end`);
      }
    }
  } finally {
    await Promise.all([...clients.values()].map((c) => c.disconnect()));
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  }
}

/** Every script in `dir` (default `tests/conformance/`), sorted by name. */
export async function loadScripts(dir = new URL("./conformance/", import.meta.url)): Promise<Script[]> {
  const scripts: Script[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".chat")) continue;
    scripts.push(parseScript(entry.name, await Deno.readTextFile(new URL(entry.name, dir))));
  }
  return scripts.sort((a, b) => a.name.localeCompare(b.name));
}
