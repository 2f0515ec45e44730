/**
 * The start-up banner names the page, the WebSocket URL, the client command,
 * the optional ports and the log folder, for plain and TLS servers, from
 * source and from the executable.
 */
import { assertEquals } from "./assert.ts";
import { startupBanner } from "../server/ops/banner.ts";

Deno.test("banner: a TLS server with every port, as the executable prints it", () => {
  assertEquals(
    startupBanner({
      version: "1.2.3",
      tls: true,
      addr: { hostname: "0.0.0.0", port: 8443 },
      tcpAddr: { hostname: "0.0.0.0", port: 8000 },
      riftchatAddr: { hostname: "0.0.0.0", port: 8001 },
      logDir: "/data",
      standalone: true,
      redis: "redis://10.0.0.2:6379",
    }),
    [
      "Wirechat 1.2.3 is running on every network interface.",
      "  Chat page:        https://127.0.0.1:8443/",
      "  WebSocket:        wss://127.0.0.1:8443/",
      "  Terminal client:  wirechat client --url wss://127.0.0.1:8443/ (add --ca <file> for a self-signed certificate)",
      "  Plain TCP lines:  127.0.0.1:8000 (e.g. nc 127.0.0.1 8000)",
      "  RiftChat clients: 127.0.0.1:8001",
      "  Shared room:      through Redis at redis://10.0.0.2:6379",
      "  Health, metrics:  https://127.0.0.1:8443/healthz, https://127.0.0.1:8443/metrics",
      "  Logs:             /data/ (YYYY-MM-DD-messages.txt: the chat; YYYY-MM-DD-server.log: this log, also on stderr)",
      "Stop with Ctrl-C (or SIGTERM).",
    ],
  );
});

Deno.test("banner: an IPv6 address gets brackets in every URL; from source the client is the deno task", () => {
  const lines = startupBanner({
    version: "1.2.3",
    tls: false,
    addr: { hostname: "::1", port: 12345 },
    logDir: "/srv/wirechat/logs",
    standalone: false,
  });
  assertEquals(lines[1], "  Chat page:        http://[::1]:12345/");
  assertEquals(lines[3], "  Terminal client:  deno task client --url ws://[::1]:12345/");
});
