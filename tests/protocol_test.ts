import { assertEquals, assertThrows } from "./assert.ts";
import {
  codePointLength,
  DEFAULT_MAX_LINE,
  ERROR_TEXT,
  type ErrorCode,
  formatClientCommand,
  formatLine,
  formatUptime,
  MAX_IMAGE_URL,
  MAX_NICK_LENGTH,
  neutralize,
  nickMatcher,
  parseClientLine,
  parseServerLine,
  ProtocolError,
  type ServerEvent,
  validateNick,
} from "../protocol/mod.ts";

function refusal(line: string, maxLine?: number): string {
  try {
    parseClientLine(line, { maxLine });
  } catch (err) {
    if (err instanceof ProtocolError) return `ERR ${err.text}`;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(line)}`);
}

Deno.test("every ERR text is exactly the contract's", () => {
  const expected: Record<ErrorCode, string> = {
    expected_nick: "Expected: NICK <name>",
    invalid_nick: "Invalid nickname",
    nick_in_use: "Nickname already in use",
    expected_msg: "Expected: MSG <text>",
    too_large: "Message too large",
    control_chars: "Message contains control characters",
    invalid_utf8: "Message is not valid UTF-8",
    unknown_command: "Unknown command: FOO",
    no_such_user: "No such user: zed",
    expected_pm: "Expected: PM <nick> <text>",
    expected_history: "Expected: HISTORY [<n>]",
    rate_limited: "Rate limit exceeded",
    registration_timeout: "Registration timeout",
    server_full: "Server full",
    unavailable: "Service unavailable",
    pattern_too_long: "Pattern too long (at most 256 characters)",
    img_requires_url: "IMG requires a URL",
    invalid_image_url: "Invalid image URL",
    bad_message: "Malformed message",
    expected_admin: "Expected: ADMIN <token>",
    invalid_admin_token: "Invalid admin token",
    admin_locked: "Too many failed admin attempts, try again later",
    admin_disabled: "Admin commands are disabled on this server (no admin token is set)",
    admin_only: "Admin only command",
    user_not_found: "User not found: zed",
    expected_kick: "Expected: KICK <nick>",
    expected_ban: "Expected: BAN <nick> [<minutes>] (1 to 43200 minutes)",
    expected_unban: "Expected: UNBAN <nick>",
    not_banned: "Not banned: zed",
    bans_full: "Ban list full",
    banned: "Banned: this address, 5 minutes left",
    forbidden_content: "Message contains forbidden content",
    forbidden_nick: "Nickname contains forbidden words",
  };
  const details: Partial<Record<ErrorCode, string>> = {
    unknown_command: "FOO",
    no_such_user: "zed",
    user_not_found: "zed",
    not_banned: "zed",
    banned: "this address, 5 minutes left",
  };
  for (const [code, text] of Object.entries(expected) as [ErrorCode, string][]) {
    const detail = details[code];
    assertEquals(ERROR_TEXT[code](detail), text);
    assertEquals(formatLine({ type: "error", code, detail }), `ERR ${text}`);
    assertEquals(parseServerLine(`ERR ${text}`), detail ? { type: "error", code, detail } : { type: "error", code });
  }
});

Deno.test("parser refuses bad lines with the right ERR", () => {
  assertEquals(refusal("MSG"), "ERR Expected: MSG <text>");
  assertEquals(refusal("MSG    "), "ERR Expected: MSG <text>");
  assertEquals(refusal("MSG a\u0007b"), "ERR Message contains control characters");
  assertEquals(refusal("MSG a\tb"), "ERR Message contains control characters");
  assertEquals(refusal("MSG a\u0085b"), "ERR Message contains control characters");
  assertEquals(refusal("MSG a\rb"), "ERR Message contains control characters");
  assertEquals(refusal("FOO bar"), "ERR Unknown command: FOO");
  assertEquals(refusal("frob"), "ERR Unknown command: frob");
  assertEquals(refusal(""), "ERR Unknown command: ");
  assertEquals(refusal("\u001b[2J"), "ERR Unknown command: \u241b[2J");
  assertEquals(refusal("NICK"), "ERR Invalid nickname");
  assertEquals(refusal("NICK a b"), "ERR Invalid nickname");
  assertEquals(refusal("PM bob"), "ERR Expected: PM <nick> <text>");
  assertEquals(refusal("PM"), "ERR Expected: PM <nick> <text>");
  assertEquals(refusal("HISTORY x"), "ERR Expected: HISTORY [<n>]");
  assertEquals(refusal("HISTORY -1"), "ERR Expected: HISTORY [<n>]");
});

Deno.test("commands parse case-insensitively and trim, terminators ignored", () => {
  assertEquals(parseClientLine("msg  hello world  "), { type: "msg", text: "hello world" });
  assertEquals(parseClientLine("MSG hi\n"), { type: "msg", text: "hi" });
  assertEquals(parseClientLine("MSG hi\r\n"), { type: "msg", text: "hi" });
  assertEquals(parseClientLine("Who"), { type: "who" });
  assertEquals(parseClientLine("WHO  a* "), { type: "who", pattern: "a*" });
  assertEquals(parseClientLine("quit"), { type: "quit" });
  assertEquals(parseClientLine("NICK  alice "), { type: "nick", nick: "alice" });
  assertEquals(parseClientLine("PM bob  hi there "), { type: "pm", to: "bob", text: "hi there" });
  assertEquals(parseClientLine("TYPING"), { type: "typing" });
  assertEquals(parseClientLine("HISTORY"), { type: "history" });
  assertEquals(parseClientLine("HISTORY 5"), { type: "history", count: 5 });
  assertEquals(parseClientLine("PING"), { type: "ping" });
  assertEquals(parseClientLine("PING abc"), { type: "ping", token: "abc" });
  assertEquals(parseClientLine("VERSION"), { type: "version" });
  assertEquals(parseClientLine("help"), { type: "help" });
});

Deno.test("line limit: exactly max code points passes, one more is too large", () => {
  const fill = (n: number) => "MSG " + "x".repeat(n - 4);
  assertEquals(parseClientLine(fill(DEFAULT_MAX_LINE)).type, "msg");
  assertEquals(refusal(fill(DEFAULT_MAX_LINE + 1)), "ERR Message too large");
  // Code points, not UTF-16 units: 2044 emoji + "MSG " is 2048 code points.
  const emoji = "MSG " + "😀".repeat(DEFAULT_MAX_LINE - 4);
  assertEquals(codePointLength(emoji), DEFAULT_MAX_LINE);
  assertEquals(parseClientLine(emoji).type, "msg");
  assertEquals(refusal(emoji + "😀"), "ERR Message too large");
  // The terminator does not count.
  assertEquals(parseClientLine(fill(DEFAULT_MAX_LINE) + "\r\n").type, "msg");
  // Configurable.
  assertEquals(refusal(fill(101), 100), "ERR Message too large");
  assertEquals(parseClientLine(fill(100), { maxLine: 100 }).type, "msg");
});

Deno.test("nickname rules at their edges", () => {
  assertEquals(validateNick("a".repeat(MAX_NICK_LENGTH)), "a".repeat(MAX_NICK_LENGTH));
  assertEquals(validateNick("a".repeat(MAX_NICK_LENGTH + 1)), undefined);
  assertEquals(validateNick("😀".repeat(MAX_NICK_LENGTH)), "😀".repeat(MAX_NICK_LENGTH));
  assertEquals(validateNick("😀".repeat(MAX_NICK_LENGTH + 1)), undefined);
  assertEquals(validateNick("  bob  "), "bob");
  assertEquals(validateNick("x"), "x");
  assertEquals(validateNick(""), undefined);
  assertEquals(validateNick("   "), undefined);
  assertEquals(validateNick("a b"), undefined);
  assertEquals(validateNick("a\u00a0b"), undefined);
  assertEquals(validateNick("a\u0000b"), undefined);
  assertEquals(validateNick("a\u009fb"), undefined);
  assertEquals(validateNick("Zoë"), "Zoë");
  assertEquals(validateNick("a:b"), "a:b");
});

Deno.test("every server line formats and parses back", () => {
  const events: ServerEvent[] = [
    { type: "notice", text: "Welcome" },
    { type: "prompt" },
    { type: "join", nick: "alice" },
    { type: "leave", nick: "alice" },
    { type: "rename", from: "alice", to: "al" },
    { type: "msg", ts: "2026-11-22T03:11:07.123Z", nick: "a:b", text: "x: y [z]" },
    { type: "pm", ts: "2026-11-22T03:11:07.123Z", from: "a", to: "b", text: "psst -> x: y" },
    { type: "img", ts: "2026-11-22T03:11:07.123Z", nick: "a:b", url: "https://example.org/cat.png?a=1:2" },
    { type: "typing", nick: "bob" },
    { type: "who", nicks: ["alice", "bob"] },
    { type: "who", nicks: [] },
    { type: "replay_start", count: 3 },
    { type: "replay_end" },
    { type: "pong", token: "t1" },
    { type: "pong" },
    { type: "version", version: "0.1.0" },
    { type: "shutdown" },
  ];
  for (const ev of events) assertEquals(parseServerLine(formatLine(ev)), ev);
  assertEquals(formatLine({ type: "prompt" }), "SYS Send: NICK <name>");
  assertEquals(formatLine({ type: "join", nick: "bob" }), "SYS bob joined the chat!");
  assertEquals(formatLine({ type: "leave", nick: "bob" }), "SYS bob left the chat!");
  assertEquals(formatLine({ type: "who", nicks: ["a", "b"] }), "SYS Online (2): a, b");
  assertEquals(formatLine({ type: "replay_start", count: 1 }), "SYS Replay start (1 messages)");
  assertEquals(formatLine({ type: "shutdown" }), "SYS Server shutting down");
  assertEquals(formatLine({ type: "version", version: "1.2.3" }), "SYS Wirechat 1.2.3 (protocol wirechat/1)");
  assertEquals(parseServerLine("HELLO"), { type: "unknown", line: "HELLO" });
  assertEquals(
    formatLine({ type: "img", ts: "2026-11-22T03:11:07.123Z", nick: "bob", url: "http://x.org/a.png" }),
    "IMG [2026-11-22T03:11:07.123Z] bob http://x.org/a.png",
  );
});

Deno.test("client commands format as lines that parse back", () => {
  for (const line of ["NICK a", "MSG hi there", "WHO", "WHO a*", "QUIT", "PM b hi", "TYPING", "HISTORY", "HISTORY 3"]) {
    assertEquals(formatClientCommand(parseClientLine(line)), line);
  }
  assertThrows(() => parseClientLine("NICK "), ProtocolError);
});

Deno.test("WHO patterns: * is any run, case-insensitive, other characters literal", () => {
  const m = nickMatcher("a*e");
  assertEquals([m("alice"), m("AE"), m("ale"), m("bob"), m("alicex")], [true, true, true, false, false]);
  assertEquals(nickMatcher("*")("anything"), true);
  assertEquals(nickMatcher("a.c")("abc"), false);
  assertEquals(nickMatcher("a.c")("a.c"), true);
  assertEquals(nickMatcher("(x")("(x"), true);
});

Deno.test("neutralize replaces controls, escapes and bidi overrides", () => {
  assertEquals(neutralize("a\u001b[31mb\rc\u202ed\u0085"), "a\u241b[31mb\u240dc\ufffdd\ufffd");
  assertEquals(neutralize("plain ✓"), "plain ✓");
});

Deno.test("IMG: an http(s) URL up to MAX_IMAGE_URL code points; anything else is refused", () => {
  assertEquals(parseClientLine("img  https://example.org/cat.png "), {
    type: "img",
    url: "https://example.org/cat.png",
  });
  assertEquals(parseClientLine("IMG http://127.0.0.1:8080/a.gif?x=1#y").type, "img");
  assertEquals(refusal("IMG"), "ERR IMG requires a URL");
  assertEquals(refusal("IMG    "), "ERR IMG requires a URL");
  for (
    const bad of [
      "ftp://example.org/a.png",
      "javascript:alert(1)",
      "data:image/png;base64,AAAA",
      "example.org/a.png",
      "https://",
      "http://exa mple.org/a.png",
      "https://example.org/a\u0007.png",
      "file:///etc/passwd",
    ]
  ) assertEquals(refusal(`IMG ${bad}`), "ERR Invalid image URL", bad);
  // The bound is inclusive: MAX_IMAGE_URL code points pass, one more is refused (the line limit is not reached).
  const prefix = "https://example.org/";
  const atMax = prefix + "é".repeat(MAX_IMAGE_URL - prefix.length);
  assertEquals(codePointLength(atMax), MAX_IMAGE_URL);
  assertEquals(parseClientLine(`IMG ${atMax}`), { type: "img", url: atMax });
  assertEquals(refusal(`IMG ${atMax}é`), "ERR Invalid image URL");
});

Deno.test("UPTIME format: Ss, Zm Ss, Yh Zm, Xd Yh Zm at each edge", () => {
  assertEquals(formatUptime(0), "0s");
  assertEquals(formatUptime(59_999), "59s");
  assertEquals(formatUptime(60_000), "1m 0s");
  assertEquals(formatUptime(3_599_999), "59m 59s");
  assertEquals(formatUptime(3_600_000), "1h 0m");
  assertEquals(formatUptime(86_399_999), "23h 59m");
  assertEquals(formatUptime(86_400_000), "1d 0h 0m");
  assertEquals(formatUptime(((3 * 24 + 4) * 60 + 5) * 60_000 + 6_000), "3d 4h 5m");
});
