/**
 * Launches Debian's Chromium (`/usr/bin/chromium`) headless through npm
 * `playwright-core`; nothing here downloads a browser.
 *
 * Under Deno's permission flags of `deno task test` (not `-A`), importing
 * playwright-core fails: its bundled `is-wsl` probes
 * `/proc/sys/fs/binfmt_misc/WSLInterop` with `fs.existsSync` at module load,
 * and Deno requires full access (`--allow-all`) for anything under
 * `/proc/sys`, throwing `NotCapable` instead of answering false. We answer
 * false for `/proc/sys/…` only while the module loads (we are not on WSL),
 * then restore `existsSync`.
 *
 * @module
 */
import fs from "node:fs";
import type { Browser } from "playwright-core";

/** Debian's Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** Flags for a quiet headless run in CI containers. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
];
/** Longest wait for Chromium to start. */
export const LAUNCH_TIMEOUT_MS = 30_000;

async function importPlaywright(): Promise<typeof import("playwright-core")> {
  const existsSync = fs.existsSync;
  fs.existsSync = (path: fs.PathLike) => String(path).startsWith("/proc/sys/") ? false : existsSync(path);
  try {
    return await import("playwright-core");
  } finally {
    fs.existsSync = existsSync;
  }
}

/** Starts Chromium; `await using` closes it (and every page) even when a test failed. */
export async function launchChromium(): Promise<Browser & AsyncDisposable> {
  const { chromium } = await importPlaywright();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    timeout: LAUNCH_TIMEOUT_MS,
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}
