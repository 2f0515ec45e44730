/**
 * The terminal client's `VERSION` probe, sent after each join to learn
 * whether the server speaks the wirechat/1 extensions (only then is `TYPING`
 * sent). Its answer is not shown. The answers it knows:
 *
 * - ours: `SYS Wirechat <version> (protocol wirechat/1)` → `v1`;
 * - the original server since v1.2: `SYS Wirechat server v1.2.1` → `legacy`
 *   (it has no `TYPING`);
 * - the original server before that, or any server without `VERSION`:
 *   `ERR Expected: MSG <text>` or `ERR Unknown command: VERSION` → `legacy`.
 *
 * The first `ERR` while the probe is open ends it, whatever it says, so a
 * later `ERR` is never taken for the answer; and once the user has sent a
 * line, an `ERR` may answer that line, so it is shown even if it looks like
 * the probe's refusal (a server that ignores `VERSION` cannot hide the
 * user's error).
 *
 * @module
 */
import type { ServerEvent } from "../../protocol/mod.ts";

/** What the probe learned. */
export type Capability = "probing" | "v1" | "legacy";

/** The original server's answer to `VERSION` (v1.2 and later): `Wirechat server v1.2.1`. */
const ORIGINAL_VERSION = /^Wirechat server (v?\d[\w.+-]{0,31})$/;

/** One probe per join. */
export interface VersionProbe {
  /** The probe was sent (after a join or rejoin). */
  start(): void;
  /** The user sent a line while the probe may be open. */
  userSent(): void;
  /** Looks at one incoming event; true when it is the probe's answer and must not be shown. */
  consume(ev: ServerEvent | { type: "unknown"; line: string }): boolean;
  readonly capability: Capability;
  /** The original server's version (`v1.2.1`), when it answered like the original. */
  readonly originalVersion: string | undefined;
}

/**
 * Creates the probe state.
 *
 * @example
 * ```ts
 * import { createVersionProbe } from "./version_probe.ts";
 * const p = createVersionProbe();
 * p.start();
 * if (!p.consume({ type: "notice", text: "Wirechat server v1.2.1" }) || p.capability !== "legacy") throw new Error();
 * if (p.consume({ type: "error", code: "expected_msg" })) throw new Error("a later ERR was hidden");
 * ```
 */
export function createVersionProbe(): VersionProbe {
  let capability: Capability = "probing";
  let open = false;
  let userSent = false;
  let originalVersion: string | undefined;

  function end(found: Capability, hide: boolean): boolean {
    open = false;
    capability = found;
    return hide;
  }

  return {
    start() {
      open = true;
      userSent = false;
      capability = "probing";
    },
    userSent() {
      if (open) userSent = true;
    },
    consume(ev) {
      if (!open) return false;
      if (ev.type === "version") return end("v1", true);
      if (ev.type === "notice") {
        const m = ORIGINAL_VERSION.exec(ev.text);
        if (!m) return false;
        originalVersion = m[1];
        return end("legacy", true);
      }
      if (ev.type !== "error") return false;
      const refusal = ev.code === "expected_msg" ||
        (ev.code === "unknown_command" && ev.detail?.toUpperCase() === "VERSION");
      return end("legacy", refusal && !userSent);
    },
    get capability() {
      return capability;
    },
    get originalVersion() {
      return originalVersion;
    },
  };
}
