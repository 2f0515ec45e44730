/**
 * `wirechat healthcheck`: asks a running server's `/healthz` whether it is
 * serving, for container health checks in images without curl. Exit 0 when
 * it answers 200, 1 otherwise, with one line saying why.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { envName } from "./config.ts";

/** How long the probe waits for an answer. */
export const HEALTHCHECK_TIMEOUT_MS = 3000;

/** Usage text of `wirechat healthcheck`. */
export const HEALTHCHECK_USAGE = `Usage: wirechat healthcheck [--url URL]

Asks a running server's /healthz; exit 0 when it answers 200.
  --url   the health URL [http://<WIRECHAT_HOST or 127.0.0.1>:<WIRECHAT_PORT or 12345>/healthz;
          a wildcard host (0.0.0.0, ::) is probed on loopback. A server with its own TLS needs --url https://…]`;

/**
 * The default probe URL: the server configured by the same environment
 * (`WIRECHAT_HOST`, `WIRECHAT_PORT`), a wildcard address probed on loopback.
 *
 * @example
 * ```ts
 * import { defaultHealthUrl } from "./healthcheck.ts";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * if (defaultHealthUrl(env({})) !== "http://127.0.0.1:12345/healthz") throw new Error();
 * if (defaultHealthUrl(env({ WIRECHAT_HOST: "0.0.0.0", WIRECHAT_PORT: "8080" })) !== "http://127.0.0.1:8080/healthz") throw new Error();
 * if (defaultHealthUrl(env({ WIRECHAT_HOST: "::" })) !== "http://[::1]:12345/healthz") throw new Error();
 * if (defaultHealthUrl(env({ WIRECHAT_HOST: "10.0.0.5" })) !== "http://10.0.0.5:12345/healthz") throw new Error();
 * ```
 */
export function defaultHealthUrl(env: (name: string) => string | undefined): string {
  const port = env(envName("port")) || "12345";
  const configured = env(envName("host")) || "127.0.0.1";
  const host = configured === "0.0.0.0" ? "127.0.0.1" : configured === "::" ? "::1" : configured;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/healthz`;
}

/**
 * Runs the probe with command-line `args`; resolves to the exit code.
 * Prints the server's answer, or one line saying why there was none.
 */
export async function runHealthcheck(
  args: string[],
  env: (name: string) => string | undefined,
  timeoutMs = HEALTHCHECK_TIMEOUT_MS,
): Promise<number> {
  let url: string;
  try {
    const { values } = parseArgs({ args, options: { url: { type: "string" }, help: { type: "boolean" } } });
    if (values.help) {
      console.log(HEALTHCHECK_USAGE);
      return 0;
    }
    url = values.url ?? defaultHealthUrl(env);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0].replace(/\.$/, "") : String(err);
    console.error(`wirechat healthcheck: ${why} (wirechat healthcheck --help lists the options).`);
    return 2;
  }
  let scheme: string | undefined;
  try {
    scheme = new URL(url).protocol;
  } catch {
    scheme = undefined;
  }
  if (scheme !== "http:" && scheme !== "https:") {
    console.error(
      `wirechat healthcheck: invalid value for --url: ${
        JSON.stringify(url)
      }; give the server's http:// or https:// health URL, e.g. http://127.0.0.1:12345/healthz.`,
    );
    return 2;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).trim();
    if (res.status === 200) {
      console.log(body);
      return 0;
    }
    console.error(`wirechat healthcheck: ${url} answered ${res.status}: ${body}`);
    return 1;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? ` ${err.cause.message}` : "";
    const message = err instanceof Error ? `${err.message}${cause}` : String(err);
    const why = err instanceof DOMException && err.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : /connection refused/i.test(message)
      ? "nothing is listening there"
      : /dns error|failed to lookup|name or service not known/i.test(message)
      ? "no such host name"
      : (err instanceof Error ? err.message : String(err)).replace(/ \(os error \d+\)/, "");
    console.error(
      `wirechat healthcheck: ${url} is not reachable (${why}); start the server, or point --url (or WIRECHAT_HOST and WIRECHAT_PORT) at it.`,
    );
    return 1;
  }
}
