/**
 * A real pseudo-terminal for tests: one tmux server on its own socket, one
 * session, every call bounded; screens are read with capture-pane and
 * waited for (never fixed sleeps).
 *
 * @module
 */
import { WAIT_MS } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SOCKET = `wirechat-test-${Deno.pid}`;
/** The one session the helpers drive. */
export const SESSION = "chat";

export async function tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: ["-L", SOCKET, "-f", "/dev/null", ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(WAIT_MS),
  }).output();
  if (!out.success) throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The visible screen, trailing blank rows dropped. */
export async function screen(): Promise<string[]> {
  const rows = (await tmux("capture-pane", "-p", "-t", SESSION)).split("\n");
  while (rows.length && rows.at(-1)!.trim() === "") rows.pop();
  return rows;
}

/** Everything the pane ever showed (scrollback included). */
export async function transcript(): Promise<string[]> {
  return (await tmux("capture-pane", "-p", "-S", "-", "-t", SESSION)).split("\n");
}

/** Polls the pane until `pred` holds, bounded by `timeoutMs`. */
export async function waitScreen(
  what: string,
  pred: (rows: string[]) => boolean,
  timeoutMs = WAIT_MS,
): Promise<string[]> {
  const signal = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const rows = await screen();
    if (pred(rows)) return rows;
    if (signal.aborted) throw new Error(`timed out waiting for ${what}; screen:\n${rows.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls the cursor column until it is `want`, bounded. */
export async function waitCursorX(want: number): Promise<void> {
  const signal = AbortSignal.timeout(WAIT_MS);
  for (;;) {
    const x = Number((await tmux("display-message", "-p", "-t", SESSION, "#{cursor_x}")).trim());
    if (x === want) return;
    if (signal.aborted) throw new Error(`cursor at column ${x}, expected ${want}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const count = (rows: string[], re: RegExp) => rows.filter((r) => re.test(r)).length;

/** Types `text` and Enter. */
export async function typeLine(text: string): Promise<void> {
  await tmux("send-keys", "-t", SESSION, "-l", text);
  await tmux("send-keys", "-t", SESSION, "Enter");
}

/** Starts `command` (a shell command line) in a fresh 120×30 session in the repository; returns the socket file. */
export async function startPane(command: string): Promise<string> {
  await tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "30", "-c", ROOT, command);
  return (await tmux("display-message", "-p", "#{socket_path}")).trim();
}

/** Kills the tmux server and removes its socket file. */
export async function stopTmux(socketPath: string | undefined): Promise<void> {
  await tmux("kill-server").catch(() => {});
  if (socketPath) await Deno.remove(socketPath).catch(() => {});
}
