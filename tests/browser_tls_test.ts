/**
 * The browser client over native TLS: headless Chromium opens
 * https://127.0.0.1:<port>/ (a self-signed certificate made by openssl),
 * joins over wss:// and chats with a raw TLS WebSocket client; the page's own
 * origin passes the Origin check.
 */
import { assertEquals } from "./assert.ts";
import { launchChromium } from "./chromium.ts";
import { startTestServer, WAIT_MS } from "./helpers.ts";
import { rawHandshake } from "./raw_ws.ts";
import { makeCertificate } from "./tls_cert.ts";

Deno.test("tls: the browser client works over https:// and wss://", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-tls-browser-" });
  try {
    const files = await makeCertificate(dir);
    const ca = await Deno.readTextFile(files.cert);
    await using t = await startTestServer({ tlsCert: files.cert, tlsKey: files.key });
    const conn = await Deno.connectTls({ hostname: "127.0.0.1", port: t.port, caCerts: [ca] });
    const watcher = await rawHandshake(conn, `127.0.0.1:${t.port}`);
    await watcher.until("SYS Send: NICK <name>");
    await watcher.sendText("NICK watcher");
    await watcher.until("SYS watcher joined the chat!");

    await using browser = await launchChromium();
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(2 * WAIT_MS);
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`https://127.0.0.1:${t.port}/`);
    await page.fill("#nick", "carol");
    await page.keyboard.press("Enter");
    await page.waitForSelector(`#status[data-state="connected"]`);
    await watcher.until("SYS carol joined the chat!");
    await page.focus("#input");
    await page.keyboard.type("hello over wss");
    await page.keyboard.press("Enter");
    await watcher.until(/^MSG \[.+\] carol: hello over wss$/);
    await watcher.sendText("MSG hi carol");
    await page.waitForFunction(() =>
      (globalThis as unknown as { document: { body: { textContent: string | null } } }).document.body.textContent
        ?.includes("hi carol")
    );
    assertEquals(errors, []);
    assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "origin" }), 0);
    await context.close();
    await watcher.until("SYS carol left the chat!");
    watcher.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
