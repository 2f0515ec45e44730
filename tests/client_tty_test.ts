/**
 * The interactive client in a real pseudo-terminal (tmux): a half-typed line
 * survives a flood of incoming messages, the replay is separated, typing is
 * shown, and a server restart on the same port reconnects without showing
 * any line twice. Each tmux call is bounded; the tmux server (own socket) is
 * killed at the end.
 */
import { REPLAY_FOOTER, REPLAY_HEADER } from "../client/terminal/chat_view.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { capabilitySubprotocols } from "../protocol/mod.ts";
import { startLegacyServer } from "./legacy_server.ts";
import { count, SESSION, startPane, stopTmux, tmux, transcript, typeLine, waitCursorX, waitScreen } from "./tmux.ts";

Deno.test({
  name: "tty: half-typed input survives a flood; replay separated; typing shown; restart reconnects without duplicates",
  fn: async () => {
    const logDir = await Deno.makeTempDir({ prefix: "wirechat-tty-test-" });
    const first = await startTestServer({ logDir });
    const port = first.port;
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    let socketPath: string | undefined;
    try {
      const bob = await join(first.url, "bob", capabilitySubprotocols(["typing"]));
      bob.send("MSG before alice");
      await bob.until(/ bob: before alice$/);

      const command = [
        Deno.execPath(),
        "run --allow-net --allow-read --allow-env=WIRECHAT_*,NO_COLOR,TERM main.ts client",
        `--host 127.0.0.1 --port ${port} --nick alice; echo "EXIT=$?"; sleep 60`,
      ].join(" ");
      socketPath = await startPane(command);

      // Joined: the replay is framed by its markers, the prompt is at the bottom.
      // The prompt is drawn on the join notice; the replay block follows it, so wait for both.
      let rows = await waitScreen(
        "the prompt and the replay",
        (r) => r.at(-1) === "alice>" && r.some((l) => l.includes(REPLAY_FOOTER)),
        15_000,
      );
      const joined = rows.join("\n");
      assertOk(
        joined.indexOf(REPLAY_HEADER) < joined.indexOf("bob: before alice") &&
          joined.indexOf("bob: before alice") < joined.indexOf(REPLAY_FOOTER),
        joined,
      );

      // A half-typed line; the client tells bob that alice is typing.
      const typed = "half-typed words, not sent yet";
      await tmux("send-keys", "-t", SESSION, "-l", typed);
      await waitScreen("the typed text", (r) => r.at(-1) === `alice> ${typed}`);
      await bob.until("TYPING alice");

      // A flood from bob while alice's line is half-typed.
      const flood = 25;
      for (let i = 1; i <= flood; i++) bob.send(`MSG flood ${i} of ${flood}`);
      // Each redraw is one write, but tmux may show it half-applied: wait for the settled screen, in which the
      // typed line is back under the flood and the cursor after it (it never settles if the line was lost).
      const typedLine = `alice> ${typed}`;
      await waitScreen(
        "the flood above the intact typed line",
        (r) => r.some((l) => l.includes(`bob: flood ${flood} `)) && r.at(-1) === typedLine,
      );
      await waitCursorX(typedLine.length);

      // bob types: a transient line above the prompt.
      bob.send("TYPING");
      await waitScreen("bob typing", (r) => r.at(-2) === "bob is typing…" && r.at(-1) === typedLine);

      // The server restarts on the same port: a status line, then a reconnect with nothing shown twice.
      await first[Symbol.asyncDispose]();
      await bob.close();
      await waitScreen("the status line", (r) => r.some((l) => l.startsWith("Disconnected (")));
      // Enter while disconnected: nothing is lost, the line goes back into the editor.
      await tmux("send-keys", "-t", SESSION, "Enter");
      await waitScreen(
        "the not-sent hint",
        (r) => r.some((l) => l.endsWith(`* Not connected; not sent: ${typed}`)) && r.at(-1) === typedLine,
      );
      second = await startTestServer({ logDir, port });
      rows = await waitScreen(
        "the reconnect",
        (r) => r.some((l) => l.includes("Back in the chat")) && r.at(-1) === typedLine,
        15_000,
      );
      assertOk(!rows.some((l) => l.startsWith("Disconnected (")), "status line cleared");
      await using carol = await join(second.url, "carol");
      carol.send("MSG after restart");
      await waitScreen("a live line after the restart", (r) => r.some((l) => l.endsWith("carol: after restart")));

      const all = await transcript();
      for (let i = 1; i <= flood; i++) assertEquals(count(all, new RegExp(` bob: flood ${i} `)), 1, `flood ${i}`);
      assertEquals(count(all, / bob: before alice$/), 1);
      assertEquals(count(all, /carol: after restart$/), 1);
      assertEquals(count(all, /Reconnected as alice\./), 1);
      assertOk(all.some((l) => l.includes("Back in the chat; no missed messages.")));

      // Enter sends the line that survived all of this; Ctrl-C quits with exit 0.
      await tmux("send-keys", "-t", SESSION, "Enter");
      await carol.until(new RegExp(` alice: ${typed}$`));
      await tmux("send-keys", "-t", SESSION, "C-c");
      await carol.until("SYS alice left the chat!");
      await waitScreen("exit 0", (r) => r.includes("EXIT=0"));
    } finally {
      await stopTmux(socketPath);
      await first[Symbol.asyncDispose]();
      await second?.[Symbol.asyncDispose]();
      await Deno.remove(logDir, { recursive: true }).catch(() => {});
    }
  },
});

/** Starts the client in a fresh tmux session; returns the socket file to remove. */
async function startClientPane(clientArgs: string): Promise<string> {
  const command = [
    Deno.execPath(),
    "run --allow-net --allow-read --allow-env=WIRECHAT_*,NO_COLOR,TERM main.ts client",
    `${clientArgs}; echo "EXIT=$?"; sleep 60`,
  ].join(" ");
  return await startPane(command);
}

Deno.test("tty: prompts like the original, re-prompts a refused nickname, /nick /msg /who /history, hints, Ctrl-D", async () => {
  await using srv = await startTestServer();
  await using bob = await join(srv.url, "bob");
  bob.send("MSG hi all");
  let socketPath: string | undefined;
  try {
    socketPath = await startClientPane("");
    await waitScreen("the host prompt", (r) => r.at(-1) === "Host [localhost]:", 15_000);
    await typeLine("127.0.0.1");
    await waitScreen("the port prompt", (r) => r.at(-1) === "Port [12345]:");
    await typeLine("http");
    await waitScreen("a port hint", (r) => r.some((l) => l.includes('invalid value for the port: "http"')));
    await waitScreen("the port prompt again", (r) => r.at(-1) === "Port [12345]:");
    await typeLine(String(srv.port));
    await waitScreen("the nickname prompt", (r) => r.at(-1) === "Nickname:");
    await typeLine("BOB");
    await waitScreen("a taken nickname", (r) => r.some((l) => l.includes("Nickname already in use. Choose another")));
    await waitScreen("the nickname prompt again", (r) => r.at(-1) === "Nickname:");
    await typeLine("a b");
    await waitScreen("an invalid nickname", (r) => r.some((l) => l.includes("Invalid nickname. Choose another")));
    // The nickname and a first message typed ahead in one go: the message is sent once joined.
    await tmux("send-keys", "-t", SESSION, "alice", "Enter", "typed ahead", "Enter");
    await waitScreen("the chat prompt", (r) => r.at(-1) === "alice>");
    await bob.until("SYS alice joined the chat!");
    await bob.until(/ alice: typed ahead$/);

    await typeLine("/nick alicia");
    await bob.until("SYS alice is now known as alicia");
    await waitScreen(
      "the renamed prompt",
      (r) => r.at(-1) === "alicia>" && r.some((l) => l.endsWith("-- alice is now known as alicia")),
    );

    await typeLine("/msg bob secret");
    await bob.until(/^PM \[\S+\] alicia -> bob: secret$/);
    bob.send("PM alicia back at you");
    await waitScreen(
      "both PMs",
      (r) => r.some((l) => l.endsWith("[PM to bob] secret")) && r.some((l) => l.endsWith("[PM from bob] back at you")),
    );

    await typeLine("/frob now");
    await waitScreen("the hint", (r) => r.some((l) => l.endsWith("* Unknown command /frob. Type /help for the list.")));
    await typeLine("/who");
    await waitScreen("who", (r) => r.some((l) => l.endsWith("Online (2): alicia, bob")));
    await typeLine("/history 5");
    const rows = await waitScreen("history", (r) => r.some((l) => l.includes("end of history")));
    const at = rows.findIndex((l) => l.includes("──── history (2) ────"));
    assertOk(
      at >= 0 && rows[at + 1].endsWith(" bob: hi all") && rows[at + 2].endsWith(" alice: typed ahead") &&
        rows[at + 3].includes("end of history"),
      rows.join("\n"),
    );
    assertEquals(count(rows, /Welcome to Wirechat/), 1, "greeting once, not per nickname attempt");
    assertEquals(count(rows, /Nickname already in use/), 1, "the refusal once, with the re-prompt");

    // A multi-line paste becomes one message per line, paced so that none is refused by flood control.
    const pasted = Array.from({ length: 32 }, (_, i) => `pasted line ${i + 1}`);
    await tmux("set-buffer", "-b", "paste", pasted.join("\n") + "\n");
    await tmux("paste-buffer", "-b", "paste", "-t", SESSION);
    for (const line of pasted) await bob.until(new RegExp(` alicia: ${line}$`), 10_000);
    assertOk(!(await transcript()).some((l) => l.includes("Slow down")), "a pasted line hit the rate limit");

    await tmux("send-keys", "-t", SESSION, "C-d");
    await bob.until("SYS alicia left the chat!");
    await waitScreen("exit 0", (r) => r.includes("EXIT=0"));
  } finally {
    await stopTmux(socketPath);
  }
});

Deno.test("tty: against the original server no extension leaks, relayed escapes are neutralised, a pasted /quit comes last", async () => {
  await using legacy = await startLegacyServer();
  let socketPath: string | undefined;
  try {
    socketPath = await startClientPane(`--url ${legacy.url} --nick alice`);
    await waitScreen("the chat prompt", (r) => r.at(-1) === "alice>", 15_000);
    await tmux("send-keys", "-t", SESSION, "-l", "typing slowly");
    await waitScreen("typed", (r) => r.at(-1) === "alice> typing slowly");
    await tmux("send-keys", "-t", SESSION, "Enter");
    await waitScreen("own message", (r) => r.some((l) => /^» \d\d:\d\d alice: typing slowly$/.test(l)));
    // The original server relays control characters; they must not reach the terminal.
    await using mallory = await join(legacy.url, "mallory");
    mallory.send("MSG gotcha \x1b[2J\x1b[H\x1b[31mred \u202eevil\u202c\rX\x07");
    const rows = await waitScreen(
      "the hostile line, the prompt redrawn under it",
      (r) => r.some((l) => l.includes("mallory: gotcha")) && r.at(-1) === "alice>",
    );
    const hostile = rows.find((l) => l.includes("mallory: gotcha"))!;
    assertOk(hostile.endsWith("mallory: gotcha \u241b[2J\u241b[H\u241b[31mred \ufffdevil\ufffd\u240dX\u2407"), hostile);
    assertOk(rows.some((l) => l.endsWith("alice: typing slowly")), "the screen was not cleared");
    await typeLine("/who");
    await waitScreen("who", (r) => r.some((l) => l.endsWith("Online (2): alice, mallory")));
    // A paste that ends in /quit: the lines go first, then QUIT.
    const words = Array.from({ length: 25 }, (_, i) => `last words ${i + 1}`);
    await tmux("set-buffer", "-b", "paste", [...words, "/quit"].join("\n") + "\n");
    await tmux("paste-buffer", "-b", "paste", "-t", SESSION);
    for (const w of words) await mallory.until(new RegExp(` alice: ${w}$`), 10_000);
    await mallory.expect("SYS alice left the chat!");
    await waitScreen("exit 0", (r) => r.includes("EXIT=0"));
    const all = await transcript();
    assertOk(!all.some((l) => l.includes("Expected") || l.includes(" ! ")), all.join("\n"));
  } finally {
    await stopTmux(socketPath);
  }
});

Deno.test("tty: a refused connection prints one sentence, exits 1 and leaves the terminal usable", async () => {
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = free.addr.port;
  free.close();
  let socketPath: string | undefined;
  try {
    socketPath = await startClientPane(
      `--host 127.0.0.1 --port ${port} --nick alice 2>&1; code=$?; stty -a | grep -o -- '-icanon'; (exit $code)`,
    );
    const rows = await waitScreen("exit 1", (r) => r.includes("EXIT=1"), 15_000);
    const sentence =
      `wirechat client: Could not connect to ws://127.0.0.1:${port}/: connection refused (is the server running?).`;
    assertOk(rows.includes(sentence), rows.join("\n"));
    assertOk(
      !rows.some((l) => l.includes("-icanon") || /^\s+at /.test(l)),
      `raw mode left on or a stack trace:\n${rows.join("\n")}`,
    );
  } finally {
    await stopTmux(socketPath);
  }
});

Deno.test("tty: Ctrl-C while the connection hangs quits at once with exit 0", async () => {
  // A listener that accepts TCP but never answers the WebSocket handshake.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of silent) held.push(c);
  })();
  let socketPath: string | undefined;
  try {
    socketPath = await startClientPane(`--host 127.0.0.1 --port ${silent.addr.port} --nick alice`);
    await waitScreen(
      "the connecting status",
      (r) => r.some((l) => l.startsWith("Connecting to ws://127.0.0.1:")),
      15_000,
    );
    const t0 = performance.now();
    await tmux("send-keys", "-t", SESSION, "C-c");
    await waitScreen("exit 0", (r) => r.includes("EXIT=0"));
    assertOk(performance.now() - t0 < 5_000, "quit waited for the join timeout");
  } finally {
    await stopTmux(socketPath);
    silent.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("tty: a resize re-lays out at once with nothing stale, Ctrl-L redraws the chat, wrapped lines hang under the text, every server error looks the same", async () => {
  await using srv = await startTestServer();
  await using bob = await join(srv.url, "bob");
  let socketPath: string | undefined;
  const typed = "x".repeat(100);
  const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const isError = (l: string) => /^ {2}\d\d:\d\d ! /.test(l);
  try {
    // A taken nickname first: its refusal and a later ERR must look the same.
    socketPath = await startClientPane(`--url ${srv.url} --nick BOB`);
    await waitScreen("the nickname prompt after a refusal", (r) => r.at(-1) === "Nickname:", 15_000);
    await typeLine("alice");
    await waitScreen("the chat prompt", (r) => r.at(-1) === "alice>");
    await bob.until("SYS alice joined the chat!");

    bob.send(`MSG ${long}`);
    const wrapped = await waitScreen("bob's long line", (r) => r.some((l) => l.endsWith("word39")));
    const first = wrapped.findIndex((l) => / bob: word0 /.test(l));
    const indent = wrapped[first].indexOf("word0");
    const last = wrapped.findIndex((l) => l.endsWith("word39"));
    assertOk(first >= 0 && last > first, wrapped.join("\n"));
    for (const row of wrapped.slice(first + 1, last + 1)) {
      assertEquals(
        row.length - row.trimStart().length,
        indent,
        `hanging indent under the text:\n${wrapped.join("\n")}`,
      );
    }

    await typeLine("/msg nobody hi");
    const errors = await waitScreen("the ERR line", (r) => r.some((l) => l.endsWith("No such user: nobody")));
    const refusal = errors.find((l) => l.includes("Nickname already in use"));
    const noSuchUser = errors.find((l) => l.endsWith("No such user: nobody"));
    assertOk(refusal !== undefined && isError(refusal) && isError(noSuchUser!), errors.join("\n"));

    // Half a line typed, then the window shrinks: one prompt row, re-laid out for 50 columns, no stale copy.
    await tmux("send-keys", "-t", SESSION, "-l", typed);
    await waitScreen("the typed text", (r) => r.at(-1) === `alice> ${typed}`);
    await tmux("resize-window", "-t", SESSION, "-x", "50", "-y", "30");
    const narrow = await waitScreen(
      "the input laid out for 50 columns",
      (r) => r.at(-1) === `alice> ${"x".repeat(41)}` && count(r, /xxxxxxxxxx/) === 1,
    );
    assertOk(narrow.every((l) => l.length <= 50), narrow.join("\n"));
    // The chat is re-wrapped to the new width, still hanging under the text column.
    const again = narrow.findIndex((l) => / bob: word0 /.test(l));
    assertOk(again >= 0 && narrow[again + 1].startsWith(" ".repeat(indent)), narrow.join("\n"));

    // Growing again shows the whole input at once, without a key pressed.
    await tmux("resize-window", "-t", SESSION, "-x", "150", "-y", "30");
    await waitScreen(
      "the whole input after growing",
      (r) => r.at(-1) === `alice> ${typed}` && count(r, /xxxxxxxxxx/) === 1,
    );

    // Ctrl-L redraws: the chat is still there, the input too.
    await tmux("send-keys", "-t", SESSION, "C-l");
    const redrawn = await waitScreen(
      "the redrawn chat",
      (r) =>
        r.at(-1) === `alice> ${typed}` && r.some((l) => l.endsWith("word39")) && r.some((l) => / bob: word0 /.test(l)),
    );
    assertEquals(count(redrawn, / bob: word0 /), 1, redrawn.join("\n"));
    assertEquals(count(await transcript(), / bob: word0 /), 1, "the scrollback holds the chat once");
  } finally {
    await stopTmux(socketPath);
  }
});
