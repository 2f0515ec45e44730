/**
 * Starts `tests/clients/legacy_server.py`, a python-websockets stand-in for
 * the original Wirechat server, on a free port.
 *
 * @module
 */

/** A running legacy server. */
export interface LegacyServer extends AsyncDisposable {
  port: number;
  url: string;
}

const SCRIPT = new URL("./clients/legacy_server.py", import.meta.url).pathname;

/** Starts the legacy server and waits until it printed its port (bounded). */
export async function startLegacyServer(): Promise<LegacyServer> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-u", SCRIPT],
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
