/**
 * Issue 17 finding 4: a backward wall-clock step (NTP) must not touch any
 * interval. The fault injected: `Date.now()` and `new Date()` are replaced
 * for the test's duration by a wall clock that can be stepped, and restored
 * after; the server runs in-process on real sockets.
 */
import { assertEquals } from "./assert.ts";
import { join, startTestServer, steppableWallClock } from "./helpers.ts";
import { capabilitySubprotocols } from "../protocol/mod.ts";

const HOUR_MS = 3_600_000;

Deno.test("a backward wall-clock step of an hour: lines, new connections and typing notices still flow", async () => {
  const clock = steppableWallClock();
  try {
    // Loopback is normally exempt from the per-address limits; here it is not, so the connection rate applies.
    await using srv = await startTestServer({ limitExempt: "", connectsPerMinute: 3, ratePerSecond: 1000 });
    await using alice = await join(srv.url, "alice");
    await using bob = await join(srv.url, "bob", capabilitySubprotocols(["typing"]));
    alice.send("TYPING");
    await bob.expect("TYPING alice");

    const before = new Date().getTime();
    clock.step(-HOUR_MS);
    assertEquals(new Date().getTime() < before - HOUR_MS + 60_000, true, "the wall clock stepped back");

    alice.send("MSG after the step");
    await bob.until(/^MSG \[[^\]]+\] alice: after the step$/);
    assertEquals(alice.lines.filter((l) => l.startsWith("ERR")), []);

    await using carol = await join(srv.url, "carol"); // the third of 3 connections per minute
    assertEquals(srv.server.metrics.value("wirechat_connections_refused_total", { reason: "connect_rate" }), 0);

    // The throttle lets one notice through per 2 s of real time: keep typing until one arrives.
    const typing = setInterval(() => alice.send("TYPING"), 100);
    try {
      await bob.until("TYPING alice", 10_000);
    } finally {
      clearInterval(typing);
    }
    assertEquals(srv.server.metrics.value("wirechat_errors_total", { code: "rate_limited" }), 0);
    carol.send("MSG still serving");
    await bob.until(/carol: still serving$/);
  } finally {
    clock.restore();
  }
});
