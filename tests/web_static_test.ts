/**
 * The embedded browser client over real HTTP: the committed bundle matches
 * the sources, every file is served with the CSP, nosniff and no-referrer
 * headers, ETags revalidate, and unknown paths are 404.
 */
import { renderAssetsModule } from "../tools/build_web.ts";
import { contentSecurityPolicy } from "../server/ops/static.ts";
import { WEB_ASSETS } from "../server/ops/web_assets.gen.ts";
import { startTestServer } from "./helpers.ts";

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

Deno.test("server/ops/web_assets.gen.ts is up to date with client/web/ (else: deno task build:web)", async () => {
  const committed = await Deno.readTextFile(new URL("../server/ops/web_assets.gen.ts", import.meta.url));
  const fresh = await renderAssetsModule();
  assert(committed === fresh, "server/ops/web_assets.gen.ts is out of date: run `deno task build:web` and commit it");
});

Deno.test("the page, script, stylesheet and icon are served with the security headers", async () => {
  await using t = await startTestServer();
  const base = `http://127.0.0.1:${t.port}`;
  const host = `127.0.0.1:${t.port}`;
  const want: Record<string, string> = {
    "/": "text/html; charset=utf-8",
    "/app.js": "text/javascript; charset=utf-8",
    "/app.css": "text/css; charset=utf-8",
    "/favicon.svg": "image/svg+xml",
  };
  for (const [path, type] of Object.entries(want)) {
    const res = await fetch(base + path);
    const body = await res.text();
    assert(res.status === 200, `${path}: status ${res.status}`);
    assert(res.headers.get("content-type") === type, `${path}: content-type ${res.headers.get("content-type")}`);
    assert(body === WEB_ASSETS[path].body, `${path}: body differs from the embedded file`);
    assert(res.headers.get("x-content-type-options") === "nosniff", `${path}: no nosniff`);
    assert(res.headers.get("referrer-policy") === "no-referrer", `${path}: no referrer policy`);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert(csp === contentSecurityPolicy(host), `${path}: CSP ${csp}`);
    for (
      const part of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        `connect-src 'self' ws://${host} wss://${host}`,
        "frame-ancestors 'none'",
      ]
    ) assert(csp.includes(part), `${path}: CSP lacks ${part}: ${csp}`);
    assert(!/unsafe|https?:|\*/.test(csp), `${path}: CSP allows too much: ${csp}`);
  }
  const page = WEB_ASSETS["/"].body;
  assert(!/https?:\/\/(?!www\.w3\.org)/.test(page), "the page names an external URL");
  assert(!/<script>|\sstyle=|\son[a-z]+=/i.test(page), "the page has inline script, style or handlers");
});

Deno.test("ETag revalidation answers 304; HEAD has no body", async () => {
  await using t = await startTestServer();
  const url = `http://127.0.0.1:${t.port}/app.js`;
  const first = await fetch(url);
  await first.body?.cancel();
  const etag = first.headers.get("etag");
  assert(etag === WEB_ASSETS["/app.js"].etag, `etag ${etag}`);
  const again = await fetch(url, { headers: { "if-none-match": etag } });
  assert(again.status === 304, `revalidation status ${again.status}`);
  assert((await again.text()) === "", "304 with a body");
  const head = await fetch(url, { method: "HEAD" });
  assert(head.status === 200 && (await head.text()) === "", "HEAD status or body wrong");
  const bytes = new TextEncoder().encode(WEB_ASSETS["/app.js"].body).length;
  assert(
    head.headers.get("content-length") === String(bytes),
    `HEAD content-length ${head.headers.get("content-length")}`,
  );
  assert(head.headers.get("content-security-policy") !== null, "HEAD without CSP");
});

Deno.test("unknown paths are 404 with nosniff; other methods on the page are 405", async () => {
  await using t = await startTestServer();
  const base = `http://127.0.0.1:${t.port}`;
  for (const path of ["/nope", "/index.html", "/app.ts", "/client/web/app.ts", "/APP.JS", "/app.js/", "/constructor"]) {
    const res = await fetch(base + path);
    await res.body?.cancel();
    assert(res.status === 404, `${path}: status ${res.status}`);
    assert(res.headers.get("x-content-type-options") === "nosniff", `${path}: 404 without nosniff`);
  }
  const post = await fetch(base + "/", { method: "POST", body: "x" });
  await post.body?.cancel();
  assert(post.status === 405, `POST /: status ${post.status}`);
});

Deno.test("a hostile Host header cannot widen the CSP", () => {
  for (const host of ["a.example; script-src *", "x y", "'unsafe-inline'", "evil.example:1/x", ""]) {
    const csp = contentSecurityPolicy(host);
    assert(!csp.includes("*") && !csp.includes("unsafe") && !csp.includes("evil"), `${host}: ${csp}`);
    assert(csp.includes("connect-src 'self'"), `${host}: ${csp}`);
  }
  assert(contentSecurityPolicy("[::1]:8080").includes("ws://[::1]:8080"), "IPv6 host dropped");
});
