/**
 * A crowd of ordinary WebSocket readers in a process of their own (so their
 * reading speed does not depend on the server's event loop), for the
 * outbound pricing tests. Run:
 *
 *     deno run --allow-net tests/reader_crowd.ts <url> <readers> <regexp> <count>
 *
 * Each reader joins as `reader<i>`, prints nothing until all have joined
 * (then one `joined` line), reads until it has seen `count` lines matching
 * `regexp` or its connection ends, and the process prints one JSON line: per
 * reader, the matching lines seen, the `MSG` lines seen and how it ended.
 *
 * @module
 */
import { join, type TestClient } from "./helpers.ts";

/** What one reader saw. */
export interface ReaderReport {
  matched: number;
  messages: number;
  /** The close code and reason when the server closed the connection, else undefined. */
  closed?: { code: number; reason: string };
}

async function read(client: TestClient, want: RegExp, count: number, timeoutMs: number): Promise<ReaderReport> {
  const report: ReaderReport = { matched: 0, messages: 0 };
  try {
    while (report.matched < count) {
      const line = await client.next(timeoutMs);
      if (line.startsWith("MSG ")) report.messages++;
      if (want.test(line)) report.matched++;
    }
  } catch {
    const ended = await Promise.race([
      client.closed,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
    ]);
    if (ended) report.closed = ended;
  }
  return report;
}

if (import.meta.main) {
  const [url, readers, pattern, count] = Deno.args;
  const clients = await Promise.all(
    Array.from({ length: Number(readers) }, (_, i) => join(url, `reader${i}`)),
  );
  console.log("joined");
  const reports = await Promise.all(clients.map((c) => read(c, new RegExp(pattern), Number(count), 20_000)));
  console.log(JSON.stringify(reports));
  await Promise.all(clients.map((c) => c.close()));
}
