/**
 * The `wirechat-server` executable: `wirechat-server [options]` is
 * `wirechat serve [options]`, and `wirechat-server healthcheck` probes a
 * running server (container health checks). Compiled with the server's
 * permissions only.
 *
 * @module
 */
import { main } from "./main.ts";

/** Maps `wirechat-server` arguments to `wirechat` arguments. */
export function serverArgs(args: string[]): string[] {
  return args[0] === "healthcheck" ? args : ["serve", ...args];
}

if (import.meta.main) {
  Deno.exit(await main(serverArgs(Deno.args)));
}
