/**
 * End-to-end tests of the browser client in real headless Chromium (Debian's
 * `/usr/bin/chromium`, driven by npm `playwright-core`), against a real
 * server on 127.0.0.1 port 0, next to WebSocket test clients. Screenshots
 * (desktop 1280×800 and phone 360×740) go to `tests/artifacts/`.
 */
import {
  assert,
  focusedId,
  joinAs,
  launchChromium,
  openPage,
  type PageGlobals,
  PHONE,
  screenshot,
  send,
  setHidden,
  tempDir,
  texts,
  waitLine,
  waitPeople,
  waitStatus,
  waitTitle,
} from "./chromium.ts";
import { join, startTestServer } from "./helpers.ts";

Deno.test("browser client in headless Chromium", async (t) => {
  await using browser = await launchChromium();

  await t.step(
    "two pages chat, see each other, exchange a private message; a WebSocket client sees the same",
    async () => {
      await using srv = await startTestServer();
      const base = `http://127.0.0.1:${srv.port}/`;
      await using alice = await openPage(browser, base);
      await using bob = await openPage(browser, base, PHONE);
      await joinAs(alice, "alice");
      await joinAs(bob, "bob");
      await using carol = await join(srv.url, "carol");
      carol.send("WHO");
      await carol.until("SYS Online (3): alice, bob, carol");
      await waitPeople(alice.page, ["alice", "bob", "carol"]);
      await waitPeople(bob.page, ["alice", "bob", "carol"]);
      assert((await texts(alice.page, "#people-count")).join() === "3", "people count");
      const kinds = [...srv.server.context.connections].map((c) => c.peer.kind).sort();
      assert(
        kinds.filter((k) => k === "ws/line+batch").length === 2,
        `the pages did not negotiate wirechat.batch: ${kinds}`,
      );

      // Bob starts typing: alice sees it.
      await bob.page.focus("#input");
      await bob.page.keyboard.type("hel");
      await alice.page.locator("#typing", { hasText: /^bob is typing…$/ }).waitFor();
      await screenshot(alice.page, "desktop-typing.png");
      await bob.page.fill("#input", "");

      // Enter sends; the sender's own line is marked, everyone sees it.
      await send(alice.page, "hello from alice");
      const own = await waitLine(alice.page, "hello from alice");
      assert(own.includes("own"), `own message not marked: ${own}`);
      const seen = await waitLine(bob.page, "hello from alice");
      assert(!seen.includes("own") && seen.includes("msg"), `bob's view of alice's line: ${seen}`);
      await carol.until(/^MSG \[[^\]]+\] alice: hello from alice$/);
      const time = await bob.page.$eval("#messages .msg time", (e) => [e.textContent, e.getAttribute("datetime")]);
      assert(/^\d\d:\d\d$/.test(time[0] ?? ""), `local time shown as ${time[0]}`);
      assert(!Number.isNaN(Date.parse(time[1] ?? "")), `datetime attribute ${time[1]}`);

      // Shift+Enter makes a new line instead of sending; the two lines go as two messages.
      await bob.page.focus("#input");
      await bob.page.keyboard.type("first line");
      await bob.page.keyboard.press("Shift+Enter");
      await bob.page.keyboard.type("second line");
      assert(await bob.page.inputValue("#input") === "first line\nsecond line", "Shift+Enter did not add a line");
      await bob.page.keyboard.press("Enter");
      await carol.until(/^MSG \[[^\]]+\] bob: first line$/);
      await carol.expect(/^MSG \[[^\]]+\] bob: second line$/);
      await waitLine(alice.page, "second line");
      assert(await bob.page.inputValue("#input") === "", "input not cleared after sending");

      // A WebSocket client's message shows in both pages; system lines are styled apart.
      carol.send("MSG hi from the terminal");
      await waitLine(alice.page, "hi from the terminal");
      await waitLine(bob.page, "hi from the terminal");
      const sys = await waitLine(alice.page, "carol joined the chat!");
      assert(sys.includes("sys"), `join notice not a system line: ${sys}`);

      // Private message: bob clicks alice in the list (keyboard: focus + Enter), types, sends.
      await bob.page.focus('#people .person[data-nick="alice"]');
      await bob.page.keyboard.press("Enter");
      await bob.page.waitForSelector("#pm-bar:not([hidden])");
      assert(await focusedId(bob.page) === "input", "focus did not move to input");
      await bob.page.keyboard.type("psst, just for you");
      await bob.page.keyboard.press("Enter");
      const pm = await waitLine(alice.page, "psst, just for you", "#messages .pm");
      assert(pm.includes("pm"), `pm class: ${pm}`);
      const tag = await alice.page.$eval("#messages .pm .tag", (e) => e.textContent);
      assert(tag === "private from bob", `pm tag: ${tag}`);
      await waitLine(bob.page, "psst, just for you", "#messages .pm");
      await screenshot(bob.page, "phone-private.png");
      await bob.page.click("#pm-cancel");
      carol.send("MSG after the pm");
      await waitLine(bob.page, "after the pm");
      await carol.until(/carol: after the pm$/);
      assert(!carol.lines.some((l) => l.includes("psst")), "carol saw the private message");

      // Unread count in the title while the tab is hidden, cleared when shown again.
      await setHidden(alice.page, true);
      carol.send("MSG one while away");
      carol.send("MSG two while away");
      await waitTitle(alice.page, "(2) Wirechat");
      await setHidden(alice.page, false);
      await waitTitle(alice.page, "Wirechat");

      // Leave notice updates the list.
      await carol.close();
      await waitPeople(alice.page, ["alice", "bob"]);
      await waitLine(alice.page, "carol left the chat!");

      await screenshot(alice.page, "desktop-chat.png");
      await screenshot(bob.page, "phone-chat.png");
      await bob.page.emulateMedia({ colorScheme: "dark" });
      await screenshot(bob.page, "phone-chat-dark.png");

      // /nick renames: the other page's list and lines follow; own lines stay marked; Leave ends the session.
      await send(alice.page, "/nick alicia");
      await waitLine(bob.page, "alice is now known as alicia");
      await waitPeople(bob.page, ["alicia", "bob"]);
      await send(alice.page, "renamed");
      assert((await waitLine(alice.page, "renamed")).includes("own"), "own mark lost after a rename");
      await alice.page.click("#leave");
      await alice.page.waitForSelector("#join-view:not([hidden])");
      await waitLine(bob.page, "alicia left the chat!");
      await waitPeople(bob.page, ["bob"]);
      assert(
        alice.errors.length === 0 && bob.errors.length === 0,
        `page errors: ${[...alice.errors, ...bob.errors]}`,
      );
    },
  );

  await t.step("a taken nickname is refused inline and another one can be picked", async () => {
    await using srv = await startTestServer();
    await using dave = await join(srv.url, "dave");
    await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`, PHONE);
    await p.page.fill("#nick", "DAVE");
    await p.page.click("#join-button");
    await p.page.locator("#join-error", { hasText: "already taken" }).waitFor();
    assert(await p.page.getAttribute("#nick", "aria-invalid") === "true", "field not marked invalid");
    assert(await p.page.isHidden("#chat-view"), "chat shown after a refusal");
    await screenshot(p.page, "phone-join-refused.png");
    await p.page.fill("#nick", "has space");
    await p.page.keyboard.press("Enter");
    await p.page.locator("#join-error", { hasText: "no spaces" }).waitFor();
    await joinAs(p, "dave2");
    // Keyboard only: the message box has focus after joining; the log and the people list are reachable.
    const focused = () => focusedId(p.page);
    assert(await focused() === "input", "input not focused after join");
    await p.page.keyboard.press("Shift+Tab");
    assert(await focused() === "messages", "message log not reachable by keyboard");
    await p.page.keyboard.press("Shift+Tab");
    assert(/person/.test(String(await focused())), "people list not reachable by keyboard");
    await dave.until("SYS dave2 joined the chat!");
    assert(p.errors.length === 0, `page errors: ${p.errors}`);
  });

  await t.step("hostile text from a peer is shown as text and runs nothing", async () => {
    await using srv = await startTestServer();
    await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
    await joinAs(p, "victim");
    await using evil = await join(srv.url, "<b>evil</b>");
    const payloads = [
      `<img src=x onerror="window.__pwned='img'">`,
      `<script>window.__pwned='script'</script>`,
      `<a href="javascript:window.__pwned='link'">click</a>`,
    ];
    for (const text of payloads) evil.send(`MSG ${text}`);
    evil.send(`PM victim <svg onload="window.__pwned='pm'">`);
    for (const text of payloads) await waitLine(p.page, text);
    await waitLine(p.page, `<svg onload="window.__pwned='pm'">`, "#messages .pm");
    await waitPeople(p.page, ["<b>evil</b>", "victim"]);
    const injected = await p.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return {
        pwned: g.__pwned ?? null,
        elements: g.document.querySelectorAll("#messages img, #messages script, #messages a, #messages svg, #people b")
          .length,
        nick: g.document.querySelector("#messages .msg .nick")?.textContent,
      };
    });
    // The browser enforces the page's CSP: an inline script added to the page does not run.
    const violation = p.page.waitForEvent("console", {
      predicate: (m) => m.text().includes("Content Security Policy"),
    });
    const inlineRan = await p.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals & { __inline?: number };
      const doc = g.document as unknown as {
        createElement(tag: string): { textContent: string };
        body: { append(node: unknown): void };
      };
      const script = doc.createElement("script");
      script.textContent = "window.__inline = 1";
      doc.body.append(script);
      return g.__inline ?? null;
    });
    assert(inlineRan === null, "the CSP let an inline script run");
    await violation;
    const expected = p.errors.filter((e) => e.includes("Content Security Policy"));
    assert(expected.length === 1, `CSP reports: ${expected}`);
    p.errors.splice(p.errors.indexOf(expected[0]), 1);
    assert(injected.pwned === null, `script ran: ${injected.pwned}`);
    assert(injected.elements === 0, `${injected.elements} injected elements in the page`);
    assert(injected.nick === "<b>evil</b>", `nick shown as ${injected.nick}`);
    await screenshot(p.page, "desktop-hostile.png");
    assert(p.errors.length === 0, `page errors: ${p.errors}`);
  });

  await t.step("the message list keeps at most its line limit, dropping the oldest", async () => {
    await using srv = await startTestServer();
    await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
    await joinAs(p, "reader");
    await p.page.locator("#messages").evaluate((el, max) => el.setAttribute("data-max-lines", String(max)), 3);
    await using talker = await join(srv.url, "talker");
    for (let i = 1; i <= 6; i++) talker.send(`MSG line ${i}`);
    await waitLine(p.page, "line 6");
    const shown = await texts(p.page, "#messages > li");
    assert(shown.length === 3, `${shown.length} lines kept: ${JSON.stringify(shown)}`);
    assert(
      JSON.stringify(await texts(p.page, "#messages .msg .text")) === JSON.stringify(["line 4", "line 5", "line 6"]),
      `kept: ${JSON.stringify(shown)}`,
    );
  });

  await t.step("reload shows the replay as history, once", async () => {
    await using srv = await startTestServer();
    await using p = await openPage(browser, `http://127.0.0.1:${srv.port}/`);
    await joinAs(p, "reloader");
    await using bob = await join(srv.url, "bob");
    await send(p.page, "said before the reload");
    bob.send("MSG bob too");
    await waitLine(p.page, "bob too");
    await p.page.reload();
    await bob.until("SYS reloader left the chat!");
    // The tab rejoins by itself with the same nick.
    await waitStatus(p.page, "connected");
    await bob.until("SYS reloader joined the chat!");
    const mine = await waitLine(p.page, "said before the reload");
    assert(mine.includes("history") && mine.includes("own"), `replayed own line: ${mine}`);
    const other = await waitLine(p.page, "bob too");
    assert(other.includes("history"), `replayed line: ${other}`);
    await screenshot(p.page, "desktop-replay.png");
    // The closing divider comes with the replay's end, which may arrive after its last line.
    await p.page.locator("#messages .divider", { hasText: "Now" }).waitFor();
    const dividers = await texts(p.page, "#messages .divider:not(.day)");
    assert(dividers.join("|") === "Earlier messages|Now", `dividers: ${dividers}`);
    bob.send("MSG live after reload");
    const live = await waitLine(p.page, "live after reload");
    assert(!live.includes("history"), `live line marked as history: ${live}`);
    const all = await texts(p.page, "#messages .msg .text");
    assert(all.filter((x) => x === "bob too").length === 1, `replay duplicated: ${all}`);
    assert(p.errors.length === 0, `page errors: ${p.errors}`);
  });

  await t.step("a server restart: the page shows reconnecting, rejoins, and duplicates nothing", async () => {
    await using dir = await tempDir("wirechat-browser-test-");
    const logDir = dir.path;
    const first = await startTestServer({ logDir });
    const port = first.port;
    await using p = await openPage(browser, `http://127.0.0.1:${port}/`);
    await joinAs(p, "steady");
    {
      await using bob = await join(first.url, "bob");
      bob.send("MSG before the restart");
      await waitLine(p.page, "before the restart");
    }
    await first[Symbol.asyncDispose]();
    await waitStatus(p.page, "reconnecting");
    await screenshot(p.page, "desktop-reconnecting.png");
    await using second = await startTestServer({ logDir, port });
    await waitStatus(p.page, "connected");
    await waitLine(p.page, "Reconnected.");
    await using carol = await join(second.url, "carol");
    carol.send("MSG after the restart");
    await waitLine(p.page, "after the restart");
    const all = await texts(p.page, "#messages .msg .text");
    assert(
      all.join("|") === "before the restart|after the restart",
      `messages after reconnect: ${JSON.stringify(all)}`,
    );
    await waitPeople(p.page, ["carol", "steady"]);
  });
});
