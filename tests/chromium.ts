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
 * Also the page helpers the browser tests and `tools/screenshot.ts` share:
 * open a page, join through the form, wait for lines, people and titles.
 *
 * @module
 */
import fs from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { formatLogLine, messageFileName } from "../server/core/message_log.ts";
import type { ChatMessage } from "../protocol/mod.ts";
import { WAIT_MS } from "./helpers.ts";

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

/** Where test screenshots go. */
export const ARTIFACTS: URL = new URL("./artifacts/", import.meta.url);
/** A desktop window. */
export const DESKTOP = { width: 1280, height: 800 } as const;
/** A small phone. */
export const PHONE = { width: 360, height: 740 } as const;

/** Throws `message` unless `cond` holds. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** A page with its own context (own storage), collecting script errors and CSP violations; `await using` closes it. */
export interface TestPage extends AsyncDisposable {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors; must stay empty. */
  errors: string[];
}

/** Options of {@linkcode openPage}. */
export interface PageOptions {
  viewport?: { width: number; height: number };
  colorScheme?: "light" | "dark";
  /** Script run before the page's own (through the DevTools protocol, so the page's CSP does not apply). */
  initScript?: () => void;
  /** The page's clock (`Date`) stands at this time until changed with `page.clock.setFixedTime`; timers still run. */
  fixedTime?: Date;
}

/** Opens `url` in a fresh context. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number } = DESKTOP,
  options: PageOptions = {},
): Promise<TestPage> {
  const context = await browser.newContext({ viewport, colorScheme: options.colorScheme ?? "light" });
  const page = await context.newPage();
  page.setDefaultTimeout(2 * WAIT_MS);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  if (options.initScript) await page.addInitScript(options.initScript);
  if (options.fixedTime) await page.clock.setFixedTime(options.fixedTime);
  await page.goto(url);
  return { context, page, errors, [Symbol.asyncDispose]: () => context.close() };
}

/** Joins through the form with the keyboard only. */
export async function joinAs(p: TestPage, nick: string): Promise<void> {
  await p.page.focus("#nick");
  await p.page.fill("#nick", nick);
  await p.page.keyboard.press("Enter");
  await p.page.waitForSelector("#chat-view:not([hidden])");
  await waitStatus(p.page, "connected");
}

/** Waits for the connection status shown in the header. */
export async function waitStatus(page: Page, state: string): Promise<void> {
  await page.waitForSelector(`#status[data-state="${state}"]`);
}

/**
 * The little of the DOM that page-side callbacks use. Test files are type-checked with Deno's types, not
 * the DOM library (that is only for `client/web/`), so the callbacks cast `globalThis` to this.
 * Callbacks are functions, not strings: string predicates would need `eval`, which the page's CSP forbids.
 */
export interface PageNode {
  textContent: string | null;
  className: string;
  id: string;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageNode | null;
}
/** The page's globals as the callbacks use them. */
export interface PageGlobals {
  document: {
    title: string;
    activeElement: PageNode | null;
    querySelector(selector: string): PageNode | null;
    querySelectorAll(selector: string): Iterable<PageNode> & { length: number };
    dispatchEvent(event: Event): boolean;
  };
  __pwned?: string;
}

/** Waits until a message line with exactly this text is shown; returns its classes. */
export async function waitLine(page: Page, text: string, selector = "#messages .line"): Promise<string> {
  const handle = await page.waitForFunction(([sel, want]) => {
    const doc = (globalThis as unknown as PageGlobals).document;
    return [...doc.querySelectorAll(sel)].find((li) => li.querySelector(".text")?.textContent === want)?.className;
  }, [selector, text] as const);
  return String(await handle.jsonValue());
}

/** The text of every element matching `selector`. */
export async function texts(page: Page, selector: string): Promise<string[]> {
  return await page.locator(selector).allTextContents();
}

/** Waits until the people list holds exactly `nicks` (in any order). */
export async function waitPeople(page: Page, nicks: string[]): Promise<void> {
  const want = [...nicks].sort().join(",");
  await page.waitForFunction((w) => {
    const doc = (globalThis as unknown as PageGlobals).document;
    return [...doc.querySelectorAll("#people .person")].map((b) => b.dataset.nick).sort().join(",") === w;
  }, want);
}

/** Waits for the tab title. */
export async function waitTitle(page: Page, title: string): Promise<void> {
  await page.waitForFunction((t) => (globalThis as unknown as PageGlobals).document.title === t, title);
}

/** Pretends the tab was hidden or shown again (headless Chromium keeps every tab visible). */
export async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    const doc = (globalThis as unknown as PageGlobals).document;
    Object.defineProperty(doc, "hidden", { configurable: true, get: () => h });
    doc.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

/** The id (or class) of the focused element. */
export async function focusedId(page: Page): Promise<string> {
  return await page.evaluate(() => {
    const el = (globalThis as unknown as PageGlobals).document.activeElement;
    return el?.id || el?.className || "";
  });
}

/** Types `text` into the message box and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  await page.focus("#input");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** Saves a screenshot of the page under `tests/artifacts/` (or at `path`). */
export async function screenshot(page: Page, name: string, path?: string): Promise<string> {
  const file = path ?? new URL(name, ARTIFACTS).pathname;
  if (!path) await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

/** A fresh temporary folder; `await using` removes it. */
export async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Writes messages into a log folder's daily files, as if said before the server started (replayed on join). */
export async function seedHistory(logDir: string, messages: readonly ChatMessage[]): Promise<void> {
  for (const m of messages) {
    await Deno.writeTextFile(`${logDir}/${messageFileName(m.ts)}`, formatLogLine(m), { append: true });
  }
}
