/**
 * Message log write failures against a real server process: a full disk
 * (the day's file is a link to /dev/full), a removed log folder, and a file
 * where the folder was. The room
 * keeps chatting, failures are counted in /metrics and reported in the
 * operational log, and writing resumes once the disk is back.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { join, waitUntil } from "./helpers.ts";
import { parseExposition } from "./exposition.ts";
import { spawnServer } from "./server_process.ts";

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

async function failures(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return parseExposition(await res.text()).get("wirechat_log_write_failures_total") ?? -1;
}

Deno.test("log failures: an unwritable file and a removed folder never stop the room", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-logfail-" });
  try {
    const logDir = `${dir}/logs`;
    await Deno.mkdir(logDir);
    const file = `${logDir}/${today()}-messages.txt`;
    // Every write fails: Deno refuses to open the device without --allow-all (the serve task lacks it).
    await Deno.symlink("/dev/full", file);
    await using server = await spawnServer(["--port", "0", "--log-dir", logDir]);
    const alice = await join(server.url, "alice");
    const bob = await join(server.url, "bob");

    // Unwritable: the message is still delivered, the failure counted and logged.
    alice.send("MSG lost to a full disk");
    await bob.until(/alice: lost to a full disk$/);
    await alice.until(/alice: lost to a full disk$/);
    assertEquals(await failures(server.port), 1);
    alice.send("MSG still full");
    await bob.until(/alice: still full$/);
    assertEquals(await failures(server.port), 2);
    // The server writes that log line before sending the message, but the test reads stderr from a pipe
    // in its own loop, which may not have read it yet: wait for it (bounded).
    const failed = /\[ERR\] wirechat·server: Message log write failed: .*\/dev\/full/;
    await waitUntil("the log-failure line on stderr", () => failed.test(server.stderr()));

    // Space again: the next message is on disk.
    await Deno.remove(file);
    alice.send("MSG space again");
    await bob.until(/alice: space again$/);
    assertMatch(await Deno.readTextFile(file), /alice: space again\n$/);

    // The whole folder removed while the file is open: the write goes to a fresh file, not into the void.
    await Deno.remove(logDir, { recursive: true });
    alice.send("MSG after rm -rf");
    await bob.until(/alice: after rm -rf$/);
    assertMatch(await Deno.readTextFile(file), /^\[.+\] alice: after rm -rf\n$/);

    // The folder replaced by a file: writes fail, the room goes on.
    await Deno.remove(logDir, { recursive: true });
    await Deno.writeTextFile(logDir, "not a folder");
    alice.send("MSG nowhere to go");
    await bob.until(/alice: nowhere to go$/);
    assertEquals(await failures(server.port), 3);

    // Everyone is still served and nobody left.
    await using carol = await join(server.url, "carol");
    carol.send("WHO");
    await carol.until("SYS Online (3): alice, bob, carol");
    assertEquals(bob.lines.filter((l) => l.includes("left the chat")), []);
    await alice.close();
    await bob.until("SYS alice left the chat!");
    await bob.close();
    await carol.close();
    assertEquals(await server.stop(), 0);
    assertOk(!/Uncaught|panicked/.test(server.stderr()), server.stderr());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
