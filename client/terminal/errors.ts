/**
 * One clear sentence for each way a connection can fail (for stderr, exit 1).
 *
 * @module
 */
import { neutralize } from "../../protocol/mod.ts";
import { ConnectError, JoinRefusedError } from "../connection.ts";

/**
 * Describes a failed connection or join as one sentence, never a stack trace.
 *
 * @example
 * ```ts
 * import { describeFailure } from "./errors.ts";
 * import { ConnectError } from "../connection.ts";
 * const s = describeFailure("ws://h:1/", new ConnectError("NetworkError: failed to connect to WebSocket: dns error"));
 * if (s !== "Could not connect to ws://h:1/: host not found (check --host or --url).") throw new Error(s);
 * ```
 */
export function describeFailure(url: string, err: unknown): string {
  if (err instanceof JoinRefusedError) return `The server refused the nickname: ${err.message}.`;
  const raw = neutralize(err instanceof Error ? err.message : String(err));
  const detail = raw.replace(/^NetworkError: failed to connect to WebSocket: /, "");
  if (err instanceof ConnectError || err instanceof Error) {
    if (/tcp connect error|connection refused|os error 111/i.test(detail)) {
      return `Could not connect to ${url}: connection refused (is the server running?).`;
    }
    if (/dns error|failed to lookup|name or service not known|no such host/i.test(detail)) {
      return `Could not connect to ${url}: host not found (check --host or --url).`;
    }
    if (url.startsWith("wss:") && /InvalidContentType|corrupt message|wrong version number/i.test(detail)) {
      return `Could not connect to ${url}: the server does not speak TLS on that port; try ${
        url.replace(/^wss:/, "ws:")
      } instead.`;
    }
    if (url.startsWith("ws:") && /invalid HTTP version/i.test(detail)) {
      return `Could not connect to ${url}: the server speaks TLS on that port; try ${
        url.replace(/^ws:/, "wss:")
      } instead.`;
    }
    const status = /Invalid status code:? (\d+)/i.exec(detail)?.[1];
    if (status !== undefined) {
      return `Could not connect to ${url}: the server answered HTTP ${status} instead of a WebSocket (is it a Wirechat server, and is the path right? The chat is on /).`;
    }
    if (/certificate|tls|ssl|handshake|UnknownIssuer/i.test(detail)) {
      return `TLS handshake with ${url} failed (${detail}); to trust a self-signed certificate pass --ca <file>.`;
    }
    if (/^no answer from/.test(detail)) return `${detail[0].toUpperCase()}${detail.slice(1)}.`;
    if (/^closed with code|^connection closed/.test(detail)) {
      return `The server at ${url} closed the connection before the join completed (${detail}).`;
    }
  }
  return `Could not connect to ${url}: ${detail.replace(/\.$/, "")}.`;
}

/**
 * A short, human reason for the status line ("connection refused" rather
 * than the runtime's full network error).
 *
 * @example
 * ```ts
 * import { shortReason } from "./errors.ts";
 * if (shortReason("NetworkError: failed to connect to WebSocket: tcp connect error") !== "connection refused") {
 *   throw new Error();
 * }
 * ```
 */
export function shortReason(reason: string): string {
  const detail = neutralize(reason).replace(/^NetworkError: failed to connect to WebSocket: /, "");
  if (/tcp connect error|connection refused/i.test(detail)) return "connection refused";
  if (/dns error/i.test(detail)) return "host not found";
  if (/certificate|tls|UnknownIssuer/i.test(detail)) return "TLS failure";
  return detail;
}

/**
 * One sentence for a connection that ended without QUIT (the `error` of the
 * final `closed` status).
 *
 * @example
 * ```ts
 * import { closedSentence } from "./errors.ts";
 * if (closedSentence("connection lost") !== "Lost the connection to the server.") throw new Error();
 * ```
 */
export function closedSentence(error: string): string {
  if (error.startsWith("server closed the connection")) return `The ${neutralize(error)}.`;
  if (error === "connection lost") return "Lost the connection to the server.";
  return `The connection ended: ${shortReason(error)}.`;
}
