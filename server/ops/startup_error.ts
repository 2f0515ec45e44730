/**
 * Start-up failures an operator can act on: each is one sentence naming the
 * flag or value and the fix, printed as is by `main.ts` (exit 1). Also the
 * listen preflight, which binds each configured port once before the server
 * starts, so a port in use or a wrong `--host` is reported with its flag.
 *
 * @module
 */
import type { ServerConfig } from "./config.ts";

/** A start-up failure whose message is the whole sentence for the operator. */
export class StartupError extends Error {
  /** Stable code: `listen_failed`, `tls_file`, `log_dir`, `redis_unreachable`. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
    this.code = code;
  }
}

/**
 * Reads a text file an option names; a file that cannot be read is a
 * {@linkcode StartupError} (`code`) naming the option, the file and why, in
 * words rather than the runtime's. With `maxBytes`, a longer file (or one
 * that never ends, like a device) is refused without being read whole, and
 * the text must be UTF-8.
 */
export function readOptionFile(path: string, flag: string, code: string, maxBytes?: number): string {
  const where = `${flag} ${JSON.stringify(path)}`;
  let bytes: Uint8Array;
  try {
    if (maxBytes === undefined) return Deno.readTextFileSync(path);
    using file = Deno.openSync(path, { read: true });
    const buf = new Uint8Array(maxBytes + 1);
    let n = 0;
    for (let got: number | null = 0; got !== null && n < buf.length; n += got ?? 0) {
      got = file.readSync(buf.subarray(n));
    }
    bytes = buf.subarray(0, n);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable
      ? "this user or program may not read it"
      : err instanceof Deno.errors.IsADirectory
      ? "it is a folder"
      : err instanceof Error
      ? err.message.replace(/ \(os error \d+\).*$/s, "").replace(/:.*$/s, "")
      : String(err);
    throw new StartupError(code, `cannot read ${where} (${why}); check the path.`, { cause: err });
  }
  if (bytes.length > maxBytes) throw new StartupError(code, `${where} is over ${maxBytes} bytes; give the right file.`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new StartupError(code, `${where} is not UTF-8 text; save it as UTF-8.`);
  }
}

/** `host:port` as an address ("[::1]:80" for IPv6). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * One sentence for a failure to listen on `host:port`, named by `flag`.
 *
 * @example
 * ```ts
 * import { explainListenError } from "./startup_error.ts";
 * const s = explainListenError(new Deno.errors.AddrInUse("Address already in use"), "127.0.0.1", 12345, "--port");
 * if (!s.startsWith("cannot listen on 127.0.0.1:12345: the address is already in use")) throw new Error(s);
 * ```
 */
export function explainListenError(err: unknown, host: string, port: number, flag: string): string {
  const at = hostPort(host, port);
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | null)?.code;
  if (err instanceof Deno.errors.AddrInUse || code === "EADDRINUSE") {
    return `cannot listen on ${at}: the address is already in use (is another server running?); stop that program or pick another port with ${flag}.`;
  }
  if (err instanceof Deno.errors.AddrNotAvailable || code === "EADDRNOTAVAIL") {
    return `cannot listen on ${at}: ${host} is not an address of this machine; pick one with --host (127.0.0.1 for this machine only, 0.0.0.0 for every interface).`;
  }
  if (/failed to lookup address|name or service not known|ENOTFOUND|EAI_AGAIN|nodename nor servname/i.test(message)) {
    return `cannot listen on --host ${
      JSON.stringify(host)
    }: no such host name; give an address of this machine, e.g. --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface).`;
  }
  if (err instanceof Deno.errors.PermissionDenied || code === "EACCES") {
    return `cannot listen on ${at}: this user may not use port ${port} (ports below 1024 need privileges); pick another with ${flag}, e.g. ${flag} 12345.`;
  }
  return `cannot listen on ${at} (${flag}): ${message.replace(/ \(os error \d+\)$/, "")}.`;
}

/**
 * Binds each configured listener's port once and releases it, so a port in
 * use, an address not on this machine or an unknown host name stops the
 * start with a sentence naming its flag, before anything else starts.
 *
 * @throws {StartupError} `listen_failed`.
 */
export function listenPreflight(config: ServerConfig): void {
  const listeners = [
    ["--port", config.port],
    ["--tcp-port", config.tcpPort],
    ["--riftchat-port", config.riftchatPort],
  ] as const;
  for (const [flag, port] of listeners) {
    if (port === undefined) continue;
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ hostname: config.host, port });
    } catch (err) {
      throw new StartupError("listen_failed", explainListenError(err, config.host, port, flag), { cause: err });
    }
    listener.close();
  }
}
