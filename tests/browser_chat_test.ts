/**
 * The chat page's behaviour from issue 14, one step per point, in real
 * headless Chromium against a real server on 127.0.0.1 port 0: following the
 * bottom, the "N new messages" control, day dividers, nick colours and their
 * contrast, links / mentions / notifications, grouping, a quiet reconnect,
 * phone widths, image lines.
 *
 * Page-side callbacks run in the browser; this file is type-checked without
 * the DOM library, so they use `any` for the page's objects.
 */
// deno-lint-ignore-file no-explicit-any
import type { Page } from "playwright-core";
import { NICK_PALETTE, nickColor } from "../client/terminal/style.ts";
import {
  assert,
  DESKTOP,
  joinAs,
  launchChromium,
  openPage,
  PHONE,
  screenshot,
  seedHistory,
  send,
  setHidden,
  tempDir,
  texts,
  waitLine,
  waitStatus,
  waitTitle,
} from "./chromium.ts";
import { join, startTestServer, type TestClient } from "./helpers.ts";

const PHONE_390 = { width: 390, height: 844 };

/** Pixels between the newest line and the bottom of the list's view. */
async function distanceFromBottom(page: Page): Promise<number> {
  return await page.$eval("#messages", (l: any) => l.scrollHeight - l.scrollTop - l.clientHeight);
}

/** Waits until the list shows its newest line (scrolled fully down). */
async function waitAtBottom(page: Page, why: string): Promise<void> {
  try {
    await page.waitForFunction(() => {
      const l = (globalThis as any).document.getElementById("messages");
      return l.scrollHeight - l.scrollTop - l.clientHeight <= 1;
    });
  } catch {
    throw new Error(`not at the bottom ${why}: ${await distanceFromBottom(page)} px above`);
  }
}

/** Whether the line with this text lies fully inside the list's visible area. */
async function lineShown(page: Page, text: string): Promise<boolean> {
  return await page.$eval("#messages", (l: any, want: string) => {
    const li = [...l.querySelectorAll(".line")].find((x: any) => x.querySelector(".text")?.textContent === want);
    if (!li) return false;
    const a = li.getBoundingClientRect();
    const b = l.getBoundingClientRect();
    return a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  }, text);
}

/** Scrolls the list to its top, as the reader would, and returns once the page has handled the scroll event. */
async function scrollToTop(page: Page): Promise<void> {
  await page.$eval("#messages", (l: any) =>
    new Promise<void>((resolve) => {
      l.addEventListener("scroll", () => resolve(), { once: true });
      l.scrollTop = 0;
    }));
}

/** Sends `n` numbered lines from a client and waits until the page shows the last. */
async function fill(page: Page, from: TestClient, prefix: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) from.send(`MSG ${prefix} ${i}`);
  await waitLine(page, `${prefix} ${n}`);
}

/** A local time `days` days ago at `hh:mm`, as a contract timestamp. */
function daysAgo(days: number, hh: number, mm: number): string {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - days, hh, mm).toISOString();
}

/** WCAG 2 contrast ratio of two `rgb(…)` colours. */
function contrast(a: string, b: string): number {
  const lum = (css: string) => {
    const [r, g, bl] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** A nick for every slot of the terminal client's palette (found by the terminal client's own hash). */
function nickPerColour(): Map<number, string> {
  const found = new Map<number, string>();
  for (let i = 0; found.size < NICK_PALETTE.length; i++) {
    const nick = `user${i}`;
    if (!found.has(nickColor(nick))) found.set(nickColor(nick), nick);
  }
  return found;
}

/**
 * Every element matching `selector`: its text, classes, colour (of its `pseudo` element, e.g. "::placeholder",
 * when given) and the colour of the first opaque background behind it.
 */
async function colours(
  page: Page,
  selector: string,
  pseudo?: string,
): Promise<{ text: string; cls: string; fg: string; bg: string }[]> {
  return await page.$$eval(selector, (nodes: any[], pseudo?: string) =>
    nodes.map((n) => {
      const g = globalThis as any;
      let bg = "rgba(0, 0, 0, 0)";
      for (let e = n; e && /rgba\(.*, 0\)$|transparent/.test(bg); e = e.parentElement) {
        bg = g.getComputedStyle(e).backgroundColor;
      }
      return { text: n.textContent, cls: n.className, fg: g.getComputedStyle(n, pseudo).color, bg };
    }), pseudo);
}

/** Every `.nick` shown: its nick, classes, colour and the colour of the first opaque background behind it. */
async function nickColours(page: Page): Promise<{ nick: string; cls: string; fg: string; bg: string }[]> {
  return (await colours(page, "#messages .line .nick")).map(({ text, ...c }) => ({ nick: text, ...c }));
}

Deno.test("browser chat page (issue 14) in headless Chromium", async (t) => {
  await using browser = await launchChromium();

  await t.step(
    "1. the list follows the bottom when the PM bar opens or closes, on a resize, and always shows one's own line",
    async () => {
      await using srv = await startTestServer();
      await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`, PHONE_390);
      await joinAs(p, "reader");
      await using talker = await join(srv.url, "talker");
      await fill(p.page, talker, "filler", 40);
      await waitAtBottom(p.page, "after 40 lines");

      // The bug: a click on a name opens the PM bar, which shrinks the list.
      await p.page.click('#people .person[data-nick="talker"]');
      await p.page.waitForSelector("#pm-bar:not([hidden])");
      await waitAtBottom(p.page, "after the PM bar opened");
      await send(p.page, "a private word");
      await waitLine(p.page, "a private word", "#messages .pm");
      await waitAtBottom(p.page, "after one's own private message");
      assert(await lineShown(p.page, "a private word"), "own private message not in view");
      talker.send("MSG next public line");
      await waitLine(p.page, "next public line");
      await waitAtBottom(p.page, "after a line while the PM bar is open");
      await p.page.click("#pm-cancel");
      await p.page.waitForSelector("#pm-bar", { state: "hidden" });
      await waitAtBottom(p.page, "after the PM bar closed");

      // The on-screen keyboard or a resize shrinks the window.
      await p.page.setViewportSize({ width: PHONE_390.width, height: 500 });
      await waitAtBottom(p.page, "after the window got shorter");
      await p.page.setViewportSize(PHONE_390);
      await waitAtBottom(p.page, "after the window got taller");

      // Scrolled up, one's own line still brings the list down to it.
      await scrollToTop(p.page);
      await send(p.page, "my own line while scrolled up");
      await waitLine(p.page, "my own line while scrolled up");
      await waitAtBottom(p.page, "after one's own line while scrolled up");
      assert(await lineShown(p.page, "my own line while scrolled up"), "own line not in view");
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );

  await t.step("2. scrolled up: 'N new messages' counts new lines, jumps to the newest and goes away", async () => {
    await using srv = await startTestServer();
    await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
    await joinAs(p, "reader");
    await using talker = await join(srv.url, "talker");
    await fill(p.page, talker, "filler", 40);
    await waitAtBottom(p.page, "after 40 lines");
    assert(await p.page.isHidden("#new-messages"), "control shown while at the bottom");
    await scrollToTop(p.page);
    await fill(p.page, talker, "while away", 3);
    await p.page.locator("#new-messages", { hasText: /^3 new messages$/ }).waitFor();
    assert(await distanceFromBottom(p.page) > 100, "the list followed although the reader had scrolled up");
    assert(!(await lineShown(p.page, "while away 3")), "newest line already in view");
    await screenshot(p.page, "desktop-new-messages.png");
    await p.page.click("#new-messages");
    await waitAtBottom(p.page, "after the control was clicked");
    await p.page.waitForSelector("#new-messages", { state: "hidden" });
    assert(await lineShown(p.page, "while away 3"), "newest line not in view after the jump");
    // Following again: the next line keeps the list at the bottom and shows no control.
    talker.send("MSG after the jump");
    await waitLine(p.page, "after the jump");
    await waitAtBottom(p.page, "after the next line");
    assert(await p.page.isHidden("#new-messages"), "control back while at the bottom");
    assert(p.errors.length === 0, `page errors: ${p.errors}`);
  });

  await t.step(
    "3. day dividers in the replay and the live list ('Fri 20 Nov', 'Yesterday', 'Today'); times stay HH:MM",
    async () => {
      await using dir = await tempDir("wirechat-browser-days-");
      const logDir = dir.path;
      const old = daysAgo(4, 9, 30);
      const seeded = [
        { ts: old, nick: "ada", text: "four days ago" },
        { ts: daysAgo(1, 18, 5), nick: "ada", text: "yesterday evening" },
        { ts: daysAgo(1, 18, 6), nick: "bob", text: "also yesterday" },
      ];
      await seedHistory(logDir, seeded);
      await using srv = await startTestServer({ logDir });
      await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
      await joinAs(p, "reader");
      await p.page.locator("#messages .divider", { hasText: "Now" }).waitFor();
      const oldLabel = new Date(old).toLocaleDateString("en-GB", {
        weekday: "short",
        day: "numeric",
        month: "short",
      })
        .replace(",", "");
      assert(
        (await texts(p.page, "#messages .divider.day")).join("|") === `${oldLabel}|Yesterday`,
        `replay day dividers: ${await texts(p.page, "#messages .divider.day")}`,
      );
      // Each divider comes right before the first line of its day.
      const order = await p.page.$$eval(
        "#messages > li",
        (lis: any[]) =>
          lis.map((li) => li.classList.contains("day") ? `[${li.textContent}]` : li.querySelector(".text")?.textContent)
            .filter((x) => x && x !== "Welcome to Wirechat 0.1.0" && !String(x).startsWith("You joined")),
      );
      assert(
        order.join("|").includes(`[${oldLabel}]|four days ago|[Yesterday]|yesterday evening|also yesterday`),
        `order: ${order.join("|")}`,
      );
      await using bob = await join(srv.url, "bob");
      bob.send("MSG live today");
      await waitLine(p.page, "live today");
      bob.send("MSG live again");
      await waitLine(p.page, "live again");
      assert(
        (await texts(p.page, "#messages .divider.day")).join("|") === `${oldLabel}|Yesterday|Today`,
        `day dividers after live lines: ${await texts(p.page, "#messages .divider.day")}`,
      );
      const times = await p.page.$$eval(
        "#messages .line time",
        (ts: any[]) => ts.map((t) => [t.textContent, t.dateTime]),
      );
      for (const [shown, iso] of times) {
        const d = new Date(iso);
        const want = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
        assert(shown === want, `time ${iso} shown as ${shown}, not ${want}`);
      }
      await screenshot(p.page, "desktop-day-dividers.png");
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );

  await t.step(
    "3. a live divider drawn as 'Today' says 'Yesterday' once the next day's first line arrives",
    async () => {
      let now = new Date(2026, 10, 19, 23, 58);
      await using srv = await startTestServer({}, { now: () => now });
      await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`, DESKTOP, { fixedTime: now });
      await joinAs(p, "reader");
      await using bob = await join(srv.url, "bob");
      bob.send("MSG just before midnight");
      await waitLine(p.page, "just before midnight");
      const before = await texts(p.page, "#messages .divider.day");
      assert(before.join("|") === "Today", `before midnight: ${before}`);
      now = new Date(2026, 10, 20, 0, 1);
      await p.page.clock.setFixedTime(now);
      bob.send("MSG just after midnight");
      await waitLine(p.page, "just after midnight");
      const after = await texts(p.page, "#messages .divider.day");
      assert(after.join("|") === "Yesterday|Today", `after midnight: ${after}`);
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );

  await t.step(
    "4. each nick has the terminal client's colour slot, with 4.5:1 contrast on its row in light and dark (PM tags and the people list too)",
    async () => {
      await using dir = await tempDir("wirechat-browser-colours-");
      const logDir = dir.path;
      const nicks = nickPerColour();
      const ts = new Date().toISOString();
      await seedHistory(logDir, [
        ...[...nicks.values()].map((nick) => ({ ts, nick, text: "plain line" })),
        ...[...nicks.values()].map((nick) => ({ ts, nick, text: "hello viewer, a mention" })),
        { ts, nick: "viewer", text: "my own line" },
      ]);
      await using srv = await startTestServer({ logDir });
      await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
      await joinAs(p, "viewer");
      await p.page.locator("#messages .divider", { hasText: "Now" }).waitFor();
      // A private message each way: their tags name the other nick.
      await using peer = await join(srv.url, "peer");
      peer.send("PM viewer psst");
      await waitLine(p.page, "psst", "#messages .pm");
      await send(p.page, "/msg peer back");
      await waitLine(p.page, "back", "#messages .pm");
      // Every colour online too, one of them picked for a private conversation (its chip on the PM colour).
      const online: TestClient[] = [];
      await using _online = { [Symbol.asyncDispose]: async () => void await Promise.all(online.map((c) => c.close())) };
      for (const nick of nicks.values()) online.push(await join(srv.url, nick));
      await p.page.waitForFunction(
        (n) => (globalThis as any).document.querySelectorAll("#people .person").length === n,
        nicks.size + 2,
      );
      await p.page.click(`#people .person[data-nick="${nicks.values().next().value}"]`);
      // The grouped second lines hide their nicks: show them all for the measurement.
      await p.page.$$eval("#messages .cont", (lis: any[]) => lis.forEach((li) => li.classList.remove("cont")));
      for (const scheme of ["light", "dark"] as const) {
        await p.page.emulateMedia({ colorScheme: scheme });
        const shown = await nickColours(p.page);
        assert(shown.length === 2 * nicks.size + 1, `${shown.length} nicks shown`);
        const backgrounds = new Set<string>();
        for (const n of shown) {
          assert(n.cls.split(" ").includes(`nc-${nickColor(n.nick)}`), `${n.nick} has ${n.cls}`);
          const ratio = contrast(n.fg, n.bg);
          assert(ratio >= 4.5, `${scheme}: ${n.nick} ${n.fg} on ${n.bg} is ${ratio.toFixed(2)}:1`);
          backgrounds.add(n.bg);
        }
        // Plain rows, mention rows and one's own row: three backgrounds measured.
        assert(backgrounds.size === 3, `${scheme}: backgrounds ${[...backgrounds]}`);
        const distinct = new Set(shown.filter((n) => n.nick !== "viewer").map((n) => n.fg));
        assert(distinct.size === NICK_PALETTE.length, `${scheme}: ${distinct.size} distinct nick colours`);
        // The PM tags ("private from peer") and, while at it, the composer's placeholder.
        const more = [
          ...await colours(p.page, "#messages .pm .tag"),
          ...await colours(p.page, "#input", "::placeholder"),
        ];
        assert(more.length === 3, `${scheme}: ${more.length} PM tags and placeholder measured`);
        for (const c of more) {
          const ratio = contrast(c.fg, c.bg);
          assert(ratio >= 4.5, `${scheme}: "${c.text}" ${c.fg} on ${c.bg} is ${ratio.toFixed(2)}:1`);
        }
        // The people list shows each nick in its colour: the panel and the picked chip's background.
        const people = await colours(p.page, "#people .person .name");
        assert(people.length === nicks.size + 2, `${scheme}: ${people.length} people measured`);
        const chipBackgrounds = new Set<string>();
        for (const c of people) {
          assert(c.cls.split(" ").includes(`nc-${nickColor(c.text)}`), `${scheme}: chip ${c.text} has ${c.cls}`);
          const ratio = contrast(c.fg, c.bg);
          assert(ratio >= 4.5, `${scheme}: chip ${c.text} ${c.fg} on ${c.bg} is ${ratio.toFixed(2)}:1`);
          chipBackgrounds.add(c.bg);
        }
        assert(chipBackgrounds.size === 2, `${scheme}: chip backgrounds ${[...chipBackgrounds]}`);
      }
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );

  await t.step(
    "5. http(s) URLs become safe links and nothing else markup; a mention is highlighted, counted and notified once allowed",
    async () => {
      await using srv = await startTestServer();
      const base = `http://127.0.0.1:${srv.port}/`;
      // A stand-in for the browser's Notification API that records what the page asks for and raises.
      await using p = await openPage(browser, base, DESKTOP, {
        initScript: () => {
          const g = globalThis as any;
          g.__asked = 0;
          g.__notes = [];
          let permission = "default";
          g.Notification = class {
            onclick: unknown = null;
            static get permission() {
              return permission;
            }
            static requestPermission() {
              g.__asked++;
              permission = "granted";
              return Promise.resolve(permission);
            }
            constructor(title: string, options?: { body?: string }) {
              g.__notes.push(`${title}: ${options?.body ?? ""}`);
            }
            close() {}
          };
        },
      });
      const foreign: string[] = [];
      p.page.on("request", (r) => {
        if (!r.url().startsWith(base)) foreign.push(r.url());
      });
      const asked = () => p.page.evaluate(() => (globalThis as any).__asked as number);
      const notes = () => p.page.evaluate(() => (globalThis as any).__notes as string[]);
      assert(await asked() === 0, "permission asked on load");
      await joinAs(p, "viewer");
      await using peer = await join(srv.url, "peer");

      const text = `see https://example.com/a?b=1&c=2, or (http://example.org/x_(y)). javascript:alert(1) ` +
        `<b>bold</b> www.example.net ftp://example.com`;
      peer.send(`MSG ${text}`);
      await waitLine(p.page, text);
      const links = await p.page.$$eval(
        "#messages .msg .text a",
        (as: any[]) => as.map((a) => ({ href: a.href, text: a.textContent, rel: a.rel, target: a.target })),
      );
      assert(links.length === 2, `links: ${JSON.stringify(links)}`);
      assert(
        links[0].href === "https://example.com/a?b=1&c=2" && links[0].text === links[0].href,
        `first link: ${JSON.stringify(links[0])}`,
      );
      assert(links[1].text === "http://example.org/x_(y)", `second link: ${JSON.stringify(links[1])}`);
      for (const l of links) {
        assert(l.rel === "noopener noreferrer" && l.target === "_blank", `link attributes: ${JSON.stringify(l)}`);
      }
      const elements = await p.page.$$eval("#messages .msg .text *", (els: any[]) => els.map((e) => e.tagName));
      assert(elements.join() === "A,A", `elements in the message: ${elements}`);

      // Bidi tricks: an override before a link cannot turn it around, and one inside it is shown, not obeyed
      // (".../\u202Efdp.exe" must not read ".../exe.pdf").
      const spoof = "\u202Eread https://example.com/\u202Efdp.exe now";
      peer.send(`MSG ${spoof}`);
      const spoofed = '#messages .msg .text a[href="https://example.com/%E2%80%AEfdp.exe"]';
      await p.page.waitForSelector(spoofed);
      const shown = await p.page.$eval(spoofed, (a: any) => {
        const g = globalThis as any;
        const at = (i: number) => {
          const r = g.document.createRange();
          r.setStart(a.firstChild, i);
          r.setEnd(a.firstChild, i + 1);
          return r.getBoundingClientRect().left;
        };
        return { text: a.textContent, href: a.href, ltr: at(0) < at(a.textContent.length - 1) };
      });
      assert(
        shown.text === "https://example.com/\uFFFDfdp.exe" && shown.href === "https://example.com/%E2%80%AEfdp.exe",
        `spoofed link: ${JSON.stringify(shown)}`,
      );
      assert(shown.ltr, `the override before the link reversed it: ${JSON.stringify(shown)}`);

      // A mention of one's nick (as a word, any case) is highlighted; a longer word containing it is not.
      peer.send("MSG hey VIEWER, look at this");
      peer.send("MSG the viewers are happy");
      assert((await waitLine(p.page, "hey VIEWER, look at this")).includes("mention"), "mention not highlighted");
      assert(
        !(await waitLine(p.page, "the viewers are happy")).includes("mention"),
        "'viewers' counted as a mention",
      );
      await send(p.page, "viewer talking about viewer");
      assert(!(await waitLine(p.page, "viewer talking about viewer")).includes("mention"), "own line highlighted");

      // Hidden tab, notifications not allowed yet: the title counts, nothing is raised, nothing was asked.
      await setHidden(p.page, true);
      peer.send("MSG viewer: are you there?");
      await waitTitle(p.page, "(1 · @1) Wirechat");
      assert((await notes()).length === 0, `notified without permission: ${await notes()}`);
      await setHidden(p.page, false);
      await waitTitle(p.page, "Wirechat");
      assert(await asked() === 0, "permission asked without a click");

      // A click allows them; then a hidden tab raises one for a mention, none for other lines.
      await p.page.click("#notify");
      await p.page.waitForSelector("#notify", { state: "hidden" });
      assert(await asked() === 1, `permission asked ${await asked()} times`);
      await setHidden(p.page, true);
      peer.send("MSG nothing for you");
      await waitTitle(p.page, "(1) Wirechat");
      peer.send("MSG ping viewer");
      await waitTitle(p.page, "(2 · @1) Wirechat");
      peer.send("PM viewer just between us");
      await waitTitle(p.page, "(3 · @2) Wirechat");
      assert(
        JSON.stringify(await notes()) ===
          JSON.stringify(["peer mentioned you: ping viewer", "Private message from peer: just between us"]),
        `notifications: ${JSON.stringify(await notes())}`,
      );
      await setHidden(p.page, false);
      await waitTitle(p.page, "Wirechat");
      assert(foreign.length === 0, `requests to other hosts: ${foreign}`);
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );

  await t.step("6. consecutive lines of one author within a few minutes show nick and time once", async () => {
    await using dir = await tempDir("wirechat-browser-group-");
    const logDir = dir.path;
    await seedHistory(logDir, [
      { ts: daysAgo(1, 10, 0), nick: "ada", text: "at ten" },
      { ts: daysAgo(1, 10, 2), nick: "ada", text: "two minutes later" },
      { ts: daysAgo(1, 10, 30), nick: "ada", text: "half an hour later" },
    ]);
    await using srv = await startTestServer({ logDir });
    await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
    await joinAs(p, "reader");
    await using bob = await join(srv.url, "bob");
    await using carol = await join(srv.url, "carol");
    for (const [who, text] of [[bob, "b1"], [bob, "b2"], [bob, "b3"], [carol, "c1"], [bob, "b4"]] as const) {
      who.send(`MSG ${text}`);
      await waitLine(p.page, text);
    }
    const rows = await p.page.$$eval("#messages .msg", (lis: any[]) =>
      lis.map((li) => {
        const visible = (sel: string) => {
          const e = li.querySelector(sel);
          const r = e?.getBoundingClientRect();
          const s = e && (globalThis as any).getComputedStyle(e);
          return Boolean(e && r.width > 1 && r.height > 1 && s.visibility === "visible");
        };
        return `${li.querySelector(".text").textContent}:${visible(".nick") ? "N" : "-"}${visible("time") ? "T" : "-"}`;
      }));
    assert(
      rows.join(" ") ===
        "at ten:NT two minutes later:-- half an hour later:NT b1:NT b2:-- b3:-- c1:NT b4:NT",
      `nick/time shown: ${rows.join(" ")}`,
    );
    // Screen readers still get the nick of a grouped line.
    const grouped = await p.page.$eval("#messages .msg.cont .nick", (n: any) => n.textContent);
    assert(grouped === "ada", `grouped line's nick for screen readers: ${grouped}`);
    await screenshot(p.page, "desktop-grouped.png");
    assert(p.errors.length === 0, `page errors: ${p.errors}`);
  });

  await t.step(
    "7. after a restart members seen before are not announced again; shutdown notice neutral; Leave and /quit say 'You left'",
    async () => {
      await using dir = await tempDir("wirechat-browser-restart-");
      const logDir = dir.path;
      const first = await startTestServer({ logDir });
      const port = first.port;
      await using p = await openPage(browser, `http://127.0.0.1:${port}/`);
      await joinAs(p, "steady");
      const bob = await join(first.url, "bob");
      const carol = await join(first.url, "carol");
      await waitLine(p.page, "carol joined the chat!");
      await first[Symbol.asyncDispose]();
      await bob.close();
      await carol.close();
      const shutdown = await waitLine(p.page, "The server is shutting down.");
      assert(!shutdown.includes("err") && shutdown.includes("sys"), `shutdown notice styled as ${shutdown}`);
      const lost = await p.page.waitForFunction(() =>
        [...(globalThis as any).document.querySelectorAll("#messages .line")]
          .find((li: any) => li.textContent.startsWith("Connection lost"))?.className
      );
      assert(!String(await lost.jsonValue()).includes("err"), `the drop after a shutdown shown as an error`);
      // On a phone the longer "Reconnecting in N s…" status keeps the header on one row (it used to push Leave below).
      await waitStatus(p.page, "reconnecting");
      await p.page.setViewportSize(PHONE);
      const header = await p.page.$$eval("header.bar > *", (els: any[]) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { id: e.id || e.tagName, middle: (r.top + r.bottom) / 2, right: r.right, width: r.width };
        }).filter((h) => h.width > 0));
      const middles = header.map((h) => h.middle);
      assert(
        Math.max(...middles) - Math.min(...middles) <= 2 && header.every((h) => h.right <= PHONE.width),
        `header while reconnecting at ${PHONE.width}px: ${JSON.stringify(header)}`,
      );
      await p.page.setViewportSize(DESKTOP);
      await using second = await startTestServer({ logDir, port });
      await waitLine(p.page, "Reconnected.");
      // The members come back after the page did: not announced; a newcomer is.
      await using bob2 = await join(second.url, "bob");
      await using carol2 = await join(second.url, "carol");
      await using dave = await join(second.url, "dave");
      await waitLine(p.page, "dave joined the chat!");
      bob2.send("MSG back again");
      await waitLine(p.page, "back again");
      carol2.send("MSG me too");
      await waitLine(p.page, "me too");
      const sys = await texts(p.page, "#messages .sys .text");
      const after = sys.slice(sys.indexOf("The server is shutting down."));
      assert(
        !after.some((s) => /^(bob|carol) joined|^You joined/.test(s)),
        `announced again after the reconnect: ${after}`,
      );
      assert(after.filter((s) => s === "Reconnected.").length === 1, `reconnect lines: ${after}`);
      await screenshot(p.page, "desktop-after-restart.png");

      // Leave says so on the join card; so does /quit.
      await p.page.click("#leave");
      await p.page.locator("#join-note", { hasText: /^You left the chat\.$/ }).waitFor();
      await dave.until("SYS steady left the chat!");
      await joinAs(p, "steady");
      assert(await p.page.isHidden("#join-note") || (await texts(p.page, "#join-note")).join() === "", "note kept");
      await send(p.page, "/quit");
      await p.page.waitForSelector("#join-view:not([hidden])");
      await p.page.locator("#join-note", { hasText: /^You left the chat\.$/ }).waitFor();
      await waitStatus(p.page, "idle");
      await screenshot(p.page, "desktop-left.png");
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );

  await t.step(
    "8. phone widths 360 and 390 px: own chip first and visible, no horizontal overflow anywhere (long nicks too)",
    async () => {
      await using srv = await startTestServer();
      const others: TestClient[] = [];
      try {
        for (let i = 0; i < 8; i++) others.push(await join(srv.url, `a${i}-long-nickname-xx`.slice(0, 20)));
        // The widest 20-character nick: in the PM bar it must not push "Back to everyone" off the screen.
        const wide = "M".repeat(20);
        others.push(await join(srv.url, wide));
        for (const viewport of [PHONE, PHONE_390]) {
          await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`, viewport);
          // A 20-character own nick: its chip is cut with an ellipsis, "(you)" stays inside the screen.
          const me = `zz-me-${viewport.width}-${"W".repeat(10)}`;
          await joinAs(p, me);
          await p.page.waitForFunction(() =>
            (globalThis as any).document.querySelectorAll("#people .person").length >= 10
          );
          others[0].send(`MSG ${"unbroken".repeat(30)} https://example.com/${"very-long-path/".repeat(12)}`);
          others[1].send(`PM ${me} ${"x".repeat(200)}`);
          // A long tag before a short first word: the word stays whole (it is not glued to the tag).
          others.at(-1)!.send(`PM ${me} hello there`);
          await waitLine(p.page, "hello there", "#messages .pm");
          const hello = await p.page.$eval("#messages .pm:last-child .text", (t: any) => {
            const r = (globalThis as any).document.createRange();
            return [0, 4].map((i) => {
              r.setStart(t.firstChild, i);
              r.setEnd(t.firstChild, i + 1);
              return Math.round(r.getBoundingClientRect().top);
            });
          });
          assert(hello[0] === hello[1], `"hello" split over two lines: tops ${hello}`);
          await p.page.click(`#people .person[data-nick="${wide}"]`);
          await p.page.waitForSelector("#pm-bar:not([hidden])");
          const layout = await p.page.evaluate(() => {
            const g = globalThis as any;
            const doc = g.document;
            const width = g.innerWidth;
            const chips = [...doc.querySelectorAll("#people .person")];
            const own = chips[0];
            const r = own.getBoundingClientRect();
            const box = doc.getElementById("people").parentElement.getBoundingClientRect();
            const scrollsSideways = [...doc.querySelectorAll("*")].filter((e: any) => {
              const s = g.getComputedStyle(e);
              return /auto|scroll/.test(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
            }).map((e: any) => e.id || e.className || e.tagName);
            const outside = [...doc.querySelectorAll("body *")].filter((e: any) => {
              const b = e.getBoundingClientRect();
              return b.width > 1 && (b.right > width + 0.5 || b.left < -0.5);
            }).map((e: any) => e.id || e.className || e.tagName);
            return {
              ownNick: own.dataset.nick,
              ownVisible: r.left >= 0 && r.right <= width && r.top >= box.top && r.bottom <= box.bottom,
              youInside: (() => {
                const y = own.querySelector(".you").getBoundingClientRect();
                return y.width > 1 && y.left >= r.left && y.right <= r.right + 0.5;
              })(),
              rects: JSON.stringify([r, box]),
              docWidth: doc.documentElement.scrollWidth,
              width,
              scrollsSideways,
              outside,
            };
          });
          const w = viewport.width;
          assert(layout.ownNick === me, `${w}px: first chip is ${layout.ownNick}`);
          assert(layout.ownVisible, `${w}px: own chip not fully visible: ${layout.rects}`);
          assert(layout.youInside, `${w}px: "(you)" cut off the own chip`);
          assert(layout.docWidth <= layout.width, `${w}px: page is ${layout.docWidth}px wide`);
          assert(layout.scrollsSideways.length === 0, `${w}px: scrolls sideways: ${layout.scrollsSideways}`);
          assert(layout.outside.length === 0, `${w}px: sticks out: ${layout.outside}`);
          await screenshot(p.page, `phone-${w}.png`);
          assert(p.errors.length === 0, `page errors: ${p.errors}`);
        }
      } finally {
        for (const c of others) await c.close();
      }
    },
  );

  await t.step(
    "9. an image line (IMG) is a link labelled as an image; nothing is loaded from another host",
    async () => {
      await using srv = await startTestServer();
      const base = `http://127.0.0.1:${srv.port}/`;
      await using p = await openPage(browser, base);
      const foreign: string[] = [];
      p.page.on("request", (r) => {
        if (!r.url().startsWith(base)) foreign.push(r.url());
      });
      await joinAs(p, "viewer");
      await using ada = await join(srv.url, "ada");
      // The original Wirechat's IMG command, relayed to everyone as IMG [<ts>] <nick> <url>.
      ada.send("IMG https://images.example/cat.png");
      await ada.until(/^IMG \[[^\]]+\] ada https:\/\/images\.example\/cat\.png$/);
      const row = await waitLine(p.page, "Image: https://images.example/cat.png");
      assert(row.includes("img"), `image line classes: ${row}`);
      // This server refuses other schemes; a line from one that did not is still never a link.
      const ts = new Date().toISOString();
      for (const c of srv.server.context.connections) {
        c.peer.send({ type: "img", ts, nick: "ada", url: "javascript:alert(1)" });
      }
      await ada.until(`IMG [${ts}] ada javascript:alert(1)`);
      await waitLine(p.page, "Image: javascript:alert(1)");
      const links = await p.page.$$eval(
        "#messages .img a",
        (as: any[]) =>
          as.map((a) => ({ cls: a.className, href: a.href, text: a.textContent, rel: a.rel, target: a.target })),
      );
      assert(
        JSON.stringify(links) === JSON.stringify([{
          cls: "image-link",
          href: "https://images.example/cat.png",
          text: "Image: https://images.example/cat.png",
          rel: "noopener noreferrer",
          target: "_blank",
        }]),
        `image links: ${JSON.stringify(links)}`,
      );
      const nick = await p.page.$eval("#messages .img .nick", (n: any) => n.textContent);
      assert(nick === "ada", `image line's nick: ${nick}`);
      assert(await p.page.locator("img").count() === 0, "an <img> element in the page");
      assert(foreign.length === 0, `requests to other hosts: ${foreign}`);
      await screenshot(p.page, "desktop-image-line.png");
      // Replayed after a reload: still an image link, in the history.
      await p.page.reload();
      await waitStatus(p.page, "connected");
      const replayed = await waitLine(p.page, "Image: https://images.example/cat.png");
      assert(replayed.includes("img") && replayed.includes("history"), `replayed image line: ${replayed}`);
      assert(await p.page.locator("#messages .img a.image-link").count() === 1, "replayed image line not a link");
      assert(await p.page.locator("img").count() === 0, "an <img> element in the page after the replay");
      assert(foreign.length === 0, `requests to other hosts after the replay: ${foreign}`);
      assert(p.errors.length === 0, `page errors: ${p.errors}`);
    },
  );
});
