/**
 * Starts `tests/clients/legacy_server.py`, a python-websockets stand-in for
 * the original Wirechat server (v1.0, or v1.2.1's answer to `VERSION`), on a
 * free port.
 *
 * @module
 */

/** A running legacy server. */
export interface LegacyServer extends AsyncDisposable {
  port: number;
  url: string;
}

const SCRIPT = new URL("./clients/legacy_server.py", import.meta.url).pathname;

/**
 * Starts the legacy server and waits until it printed its port (bounded).
 * With `version` (e.g. `1.2.1`) it answers `VERSION` like the original since
 * v1.2 (`SYS Wirechat server v1.2.1`); without, like v1.0 (an `ERR`).
 */
export async function startLegacyServer(options: { version?: string } = {}): Promise<LegacyServer> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-u", SCRIPT, ...(options.version ? ["--version", options.version] : [])],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = AbortSignal.timeout(10_000);
  while (!text.includes("\n")) {
    const timeout = new Promise<never>((_, reject) =>
      deadline.addEventListener("abort", () => reject(new Error("legacy server did not start")), { once: true })
    );
    const { value, done } = await Promise.race([reader.read(), timeout]).catch(async (err) => {
      child.kill("SIGKILL");
      await child.status;
      throw err;
    });
    if (done) throw new Error("legacy server exited before printing its port");
    text += value;
  }
  const port = Number(text.trim());
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}
