/**
 * Regenerates `docs/screenshot.png`, the README's picture of the browser
 * client: a lively chat at 1280×800 in light mode (a few people, a replay
 * from earlier days with its day dividers, a link, a mention, grouped lines,
 * someone typing). Runs a real server on 127.0.0.1 port 0 and Debian's
 * Chromium; nothing leaves the machine.
 *
 * ```sh
 * deno run --allow-all tools/screenshot.ts            # writes docs/screenshot.png
 * deno run --allow-all tools/screenshot.ts --all DIR  # also DIR/{light,dark,phone}.png to look at
 * ```
 *
 * @module
 */
import {
  DESKTOP,
  joinAs,
  launchChromium,
  openPage,
  screenshot,
  seedHistory,
  send,
  tempDir,
  waitLine,
} from "../tests/chromium.ts";
import { join, startTestServer } from "../tests/helpers.ts";

/** The README picture, relative to the repository root. */
export const OUTPUT = new URL("../docs/screenshot.png", import.meta.url).pathname;
/** The phone width we look at. */
const PHONE_390 = { width: 390, height: 844 };

/** A local time `days` days ago at `hh:mm`, as a contract timestamp. */
function daysAgo(days: number, hh: number, mm: number): string {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - days, hh, mm).toISOString();
}

async function main(args: string[]): Promise<void> {
  const allAt = args.indexOf("--all");
  const dir = allAt >= 0 ? args[allAt + 1] : undefined;
  if (allAt >= 0 && !dir) throw new Error("--all needs a folder");
  await using logDir = await tempDir("wirechat-screenshot-");
  await seedHistory(logDir.path, [
    { ts: daysAgo(3, 16, 5), nick: "ada", text: "shipping the release notes tonight" },
    { ts: daysAgo(3, 16, 7), nick: "dennis", text: "nice, ping me when they are up" },
    { ts: daysAgo(1, 21, 40), nick: "ada", text: "notes are up: https://wirechat.example/releases/0.1" },
    { ts: daysAgo(1, 21, 42), nick: "linus", text: "thanks ada" },
  ]);
  await using srv = await startTestServer({ logDir: logDir.path });
  const base = `http://127.0.0.1:${srv.port}/`;
  await using ada = await join(srv.url, "ada");
  await using dennis = await join(srv.url, "dennis");
  await using linus = await join(srv.url, "linus");
  await using browser = await launchChromium();
  await using me = await openPage(browser, base, DESKTOP, { colorScheme: "light" });
  await joinAs(me, "margaret");
  // One line at a time, each waited for, so the order (and the grouping of dennis's two lines) is fixed.
  const said: [typeof ada | undefined, string][] = [
    [ada, "morning! the build is green again"],
    [dennis, "good morning"],
    [dennis, "I put the benchmark numbers in https://wirechat.example/bench (fan-out looks great)"],
    [linus, "margaret, could you look at the reconnect patch before lunch?"],
    [undefined, "sure, on it after standup"],
  ];
  for (const [who, text] of said) {
    if (who) who.send(`MSG ${text}`);
    else await send(me.page, text);
    await waitLine(me.page, text);
  }
  ada.send("TYPING");
  const typing = me.page.locator("#typing", { hasText: "ada is typing" });
  await typing.waitFor();
  await screenshot(me.page, "", OUTPUT);
  console.log(`wrote ${OUTPUT}`);
  if (!dir) return;
  // The same page in dark mode, then at phone width.
  await Deno.mkdir(dir, { recursive: true });
  for (
    const [name, change] of [
      ["light", async () => {}],
      ["dark", () => me.page.emulateMedia({ colorScheme: "dark" })],
      ["phone", async () => {
        await me.page.emulateMedia({ colorScheme: "light" });
        await me.page.setViewportSize(PHONE_390);
      }],
    ] as const
  ) {
    await change();
    ada.send("TYPING");
    await typing.waitFor();
    console.log(`wrote ${await screenshot(me.page, "", `${dir}/${name}.png`)}`);
  }
}

if (import.meta.main) await main(Deno.args);
