/**
 * Moderation parts without a server: the ADMIN gate (constant-time compare,
 * failure limits), the ban list (monotonic expiry), the configuration of the
 * token and the bounded file loaders.
 */
import {
  ADMIN_FAILURE_WINDOW_MS,
  ADMIN_FAILURES_PER_ADDRESS,
  ADMIN_FAILURES_PER_CONNECTION,
  createAdminGate,
} from "../server/core/admin_auth.ts";
import { MAX_SECRET_FILE_BYTES, secretsEqual } from "../server/ops/secret.ts";
import { StartupError } from "../server/ops/startup_error.ts";
import { createBanList, MAX_BANS } from "../server/core/ban_list.ts";
import { parseServerArgs, serverUsage, UsageError } from "../server/ops/config.ts";
import { loadAdminToken, loadForbiddenWords, MAX_FORBIDDEN_WORDS_FILE_BYTES } from "../server/ops/moderation_files.ts";
import { assertEquals, assertOk, assertThrows } from "./assert.ts";

const TOKEN = "correct-horse-battery-staple";

Deno.test("admin gate: tokens are compared whole, whatever their lengths", () => {
  assertOk(secretsEqual(TOKEN, TOKEN));
  assertOk(!secretsEqual(TOKEN.slice(0, -1), TOKEN));
  assertOk(!secretsEqual(`${TOKEN}x`, TOKEN));
  assertOk(!secretsEqual("", TOKEN));
});

Deno.test("admin gate: without a token every attempt is 'disabled'", () => {
  const gate = createAdminGate({ token: undefined });
  assertEquals(gate.enabled, false);
  assertEquals(gate.forConnection("10.0.0.1")("anything"), "disabled");
});

Deno.test("admin gate: a connection is locked out after ADMIN_FAILURES_PER_CONNECTION failures, even with the right token, until the window passes", () => {
  let t = 0;
  const gate = createAdminGate({ token: TOKEN, now: () => t });
  const check = gate.forConnection("10.0.0.1");
  for (let i = 0; i < ADMIN_FAILURES_PER_CONNECTION; i++) assertEquals(check("wrong"), "invalid");
  assertEquals(check(TOKEN), "locked");
  assertEquals(gate.forConnection("10.0.0.1")(TOKEN), "granted", "a new connection from that address still may");
  t += ADMIN_FAILURE_WINDOW_MS / ADMIN_FAILURES_PER_CONNECTION;
  assertEquals(check(TOKEN), "granted", "one failure wore off");
});

Deno.test("admin gate: an address is locked out after ADMIN_FAILURES_PER_ADDRESS failures over many connections", () => {
  let t = 0;
  const gate = createAdminGate({ token: TOKEN, now: () => t });
  for (let i = 0; i < ADMIN_FAILURES_PER_ADDRESS; i++) {
    assertEquals(gate.forConnection("10.0.0.2")("wrong"), "invalid", `attempt ${i + 1}`);
  }
  assertEquals(gate.forConnection("10.0.0.2")(TOKEN), "locked");
  assertEquals(gate.forConnection("10.0.0.3")(TOKEN), "granted", "another address is not affected");
  t += ADMIN_FAILURE_WINDOW_MS;
  assertEquals(gate.forConnection("10.0.0.2")(TOKEN), "granted");
});

Deno.test("ban list: a ban refuses the nick (any case) and the address until it expires on the injected clock", () => {
  let t = 1000;
  const bans = createBanList(() => t);
  assertOk(bans.add({ nick: "Mallory", address: "10.0.0.9", by: "op", remainingMs: 60_000 }));
  assertEquals(bans.refusing("MALLORY")?.remainingMs, 60_000);
  assertEquals(bans.refusing("eve", "10.0.0.9")?.nick, "Mallory");
  assertEquals(bans.refusing("eve", "10.0.0.8"), undefined);
  t += 59_999;
  assertEquals(bans.list().map((b) => [b.nick, b.remainingMs]), [["Mallory", 1]]);
  t += 1;
  assertEquals(bans.refusing("mallory"), undefined);
  assertEquals(bans.list(), []);
});

Deno.test("ban list: UNBAN by any spelling lifts it; beyond MAX_BANS a new ban is refused", () => {
  const bans = createBanList(() => 0);
  bans.add({ nick: "Mallory", by: "op", remainingMs: 1000 });
  assertEquals(bans.remove("mALLORY")?.nick, "Mallory");
  assertEquals(bans.remove("mallory"), undefined);
  for (let i = 0; i < MAX_BANS; i++) assertOk(bans.add({ nick: `n${i}`, by: "op", remainingMs: 1000 }));
  assertOk(!bans.add({ nick: "one-more", by: "op", remainingMs: 1000 }));
  assertOk(bans.add({ nick: "n0", by: "op", remainingMs: 5000 }), "renewing a ban in force is not a new one");
});

Deno.test("config: the admin token comes from the environment only, never a flag; both sources at once are refused", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const run = (args: string[], vars: Record<string, string> = {}) => {
    const r = parseServerArgs(args, env(vars));
    if (r.kind !== "run") throw new Error("expected run");
    return r.config;
  };
  assertEquals(run([], { WIRECHAT_ADMIN_TOKEN: TOKEN }).adminToken, TOKEN);
  assertEquals(run([]).adminToken, undefined);
  assertEquals(run([], { WIRECHAT_ADMIN_TOKEN: "" }).adminToken, undefined, "empty counts as unset");
  assertEquals(run(["--admin-token-file", "/etc/wirechat/admin-token"]).adminTokenFile, "/etc/wirechat/admin-token");
  assertThrows(() => run(["--admin-token", TOKEN]), UsageError);
  assertThrows(() => run([`--admin-token=${TOKEN}`]), UsageError);
  assertThrows(() => run(["--admin-token-file", "/x"], { WIRECHAT_ADMIN_TOKEN: TOKEN }), UsageError);
  assertOk(serverUsage().includes("WIRECHAT_ADMIN_TOKEN"));
  assertOk(!serverUsage().includes("--admin-token "), "not offered as a flag");
  assertEquals(run(["--ban-minutes", "1"]).banMinutes, 1);
  assertThrows(() => run(["--ban-minutes", "0"]), UsageError);
});

Deno.test("moderation files: the token is the token file's first line, trimmed; an empty one or one over MAX_SECRET_FILE_BYTES stops the start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/token`;
    await Deno.writeTextFile(file, `  ${TOKEN}\n`);
    assertEquals(loadAdminToken({ adminToken: undefined, adminTokenFile: file }).token, TOKEN);
    assertEquals(loadAdminToken({ adminToken: "short", adminTokenFile: undefined }).weak, true);
    assertEquals(loadAdminToken({ adminToken: undefined, adminTokenFile: undefined }).token, undefined);
    await Deno.writeTextFile(file, "\n");
    assertThrows(() => loadAdminToken({ adminToken: undefined, adminTokenFile: file }), StartupError);
    await Deno.writeTextFile(file, "x".repeat(MAX_SECRET_FILE_BYTES));
    assertEquals(loadAdminToken({ adminToken: undefined, adminTokenFile: file }).token?.length, MAX_SECRET_FILE_BYTES);
    await Deno.writeTextFile(file, "x".repeat(MAX_SECRET_FILE_BYTES + 1));
    assertThrows(() => loadAdminToken({ adminToken: undefined, adminTokenFile: file }), StartupError);
    // A file that never ends is refused after the bound, not read whole.
    assertThrows(() => loadAdminToken({ adminToken: undefined, adminTokenFile: "/dev/zero" }), StartupError);
    assertThrows(() => loadAdminToken({ adminToken: undefined, adminTokenFile: `${dir}/none` }), StartupError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("moderation files: the forbidden words file is bounded at MAX_FORBIDDEN_WORDS_FILE_BYTES and must be UTF-8", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/words`;
    await Deno.writeTextFile(file, `darn\n${"#".repeat(MAX_FORBIDDEN_WORDS_FILE_BYTES - 6)}\n`);
    assertOk(loadForbiddenWords(file)?.matches("d4rn"));
    await Deno.writeTextFile(file, `darn\n${"#".repeat(MAX_FORBIDDEN_WORDS_FILE_BYTES - 5)}\n`);
    assertThrows(() => loadForbiddenWords(file), StartupError);
    await Deno.writeFile(file, new Uint8Array([0x64, 0xff, 0x0a]));
    assertThrows(() => loadForbiddenWords(file), StartupError);
    assertEquals(loadForbiddenWords(undefined), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
