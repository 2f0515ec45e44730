import { assertEquals, assertThrows } from "./assert.ts";
import { defaultServerConfig, envName, parseServerArgs, SERVER_OPTIONS, UsageError } from "../server/ops/config.ts";

const noEnv = () => undefined;

Deno.test("defaults match the contract", () => {
  const c = defaultServerConfig();
  assertEquals([c.host, c.port, c.logDir, c.replay, c.maxLine, c.tcpPort], [
    "127.0.0.1",
    12345,
    "logs",
    50,
    2048,
    undefined,
  ]);
});

Deno.test("flags win over env, env over defaults", () => {
  const env = (name: string) => ({ WIRECHAT_PORT: "5000", WIRECHAT_HOST: "::1", WIRECHAT_REPLAY: "7" })[name];
  const r = parseServerArgs(["--port", "4000", "--log-dir=/tmp/x"], env);
  if (r.kind !== "run") throw new Error("expected run");
  assertEquals([r.config.port, r.config.host, r.config.replay, r.config.logDir], [4000, "::1", 7, "/tmp/x"]);
});

Deno.test("every option has an env var; malformed values are usage errors at their edges", () => {
  for (const o of SERVER_OPTIONS) assertEquals(envName(o.flag).startsWith("WIRECHAT_"), true);
  const parse = (...args: string[]) => parseServerArgs(args, noEnv);
  assertThrows(() => parse("--port", "65536"), UsageError);
  assertThrows(() => parse("--port", "-1"), UsageError);
  assertThrows(() => parse("--port", "12.5"), UsageError);
  assertThrows(() => parse("--port"), UsageError);
  assertThrows(() => parse("--nope"), UsageError);
  assertThrows(() => parse("positional"), UsageError);
  assertThrows(() => parse("--replay", "10001"), UsageError);
  assertThrows(() => parse("--max-line", "15"), UsageError);
  assertEquals(parse("--port", "65535").kind, "run");
  assertEquals(parse("--replay", "0").kind, "run");
  assertEquals(parse("--help").kind, "help");
});
