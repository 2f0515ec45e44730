/**
 * The deployment files, checked with the real tools where they are
 * installed (.ci/run installs them): `systemd-analyze verify` and
 * `security --offline` on the unit, `nginx -t` on both nginx configs, a wss://
 * chat through nginx (the site example) to a real server, `docker-compose
 * config` on the compose files, a YAML parser on the workflows; and the
 * settings the files share with the executables' baked permissions. A test
 * whose tool is missing is ignored, and says which tool in its name.
 *
 * @module
 */
import { STANDALONE_LOG_DIRS } from "../server/ops/log_dir_access.ts";
import { EXECUTABLES, TARGETS } from "../tools/compile_flags.ts";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { startTestServer, WAIT_MS } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();
const PYTHON = "/usr/bin/python3";

function has(command: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${command}`], stdout: "null", stderr: "null" })
    .outputSync().success;
}

function pythonYaml(): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import yaml"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** `docker compose` when the plugin is there, else `docker-compose`; both validate without an engine. */
function composeCommand(): string[] | undefined {
  if (has("docker")) {
    const out = new Deno.Command("docker", { args: ["compose", "version"], stdout: "null", stderr: "null" })
      .outputSync();
    if (out.success) return ["docker", "compose"];
  }
  return has("docker-compose") ? ["docker-compose"] : undefined;
}

const SYSTEMD = has("systemd-analyze");
/** nginx lives in /usr/sbin, which is not on every user's PATH. */
const NGINX_BIN = has("nginx") ? "nginx" : "/usr/sbin/nginx";
const NGINX = has(NGINX_BIN);
const OPENSSL = has("openssl");
const COMPOSE = composeCommand();
const YAML = pythonYaml();

function needs(ok: boolean, tool: string): { ignore: boolean; suffix: string } {
  return { ignore: !ok, suffix: ok ? "" : ` (ignored: ${tool} is not installed)` };
}

async function run(cmd: string, args: string[], options: { cwd?: string } = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: options.cwd, stdin: "null" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-deploy-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Parses YAML files with PyYAML; returns them as JSON values. */
async function parseYaml(paths: string[]): Promise<Record<string, unknown>[]> {
  const script = [
    "import json, sys, yaml",
    "docs = [yaml.safe_load(open(p)) for p in sys.argv[1:]]",
    // YAML 1.1 reads the workflow key `on` as true; give it its name back.
    "docs = [{('on' if k is True else k): v for k, v in d.items()} for d in docs]",
    "print(json.dumps(docs))",
  ].join("\n");
  const r = await run(PYTHON, ["-c", script, ...paths.map((p) => `${ROOT}${p}`)]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// ---------------------------------------------------------------- systemd

const UNIT = `${ROOT}deploy/wirechat.service`;
const UNIT_BINARY = "/usr/local/bin/wirechat-server";

{
  const { ignore, suffix } = needs(SYSTEMD, "systemd-analyze (apt-get install systemd)");
  Deno.test({
    name: `systemd-analyze verify accepts deploy/wirechat.service; security exposure at most 2.0${suffix}`,
    ignore,
    fn: () =>
      inTempDir(async (dir) => {
        // verify needs ExecStart to exist: point it at a real executable (deno) in a temp copy.
        const text = await Deno.readTextFile(UNIT);
        assertOk(text.includes(`ExecStart=${UNIT_BINARY}\n`));
        await Deno.writeTextFile(
          `${dir}/wirechat.service`,
          text.replace(`ExecStart=${UNIT_BINARY}`, `ExecStart=${Deno.execPath()}`),
        );
        const verify = await run("systemd-analyze", ["verify", `${dir}/wirechat.service`]);
        const complaints = (verify.stdout + verify.stderr).split("\n").filter((l) => l.includes("wirechat.service"));
        assertEquals(verify.code, 0, verify.stderr);
        assertEquals(complaints, [], "systemd-analyze verify complained");

        const security = await run("systemd-analyze", [
          "security",
          "--offline=yes",
          "--threshold=20",
          `${dir}/wirechat.service`,
        ]);
        const level = /Overall exposure level for wirechat\.service: (\d+\.\d+)/.exec(security.stdout);
        assertOk(level, security.stdout + security.stderr);
        assertEquals(security.code, 0, `exposure ${level[1]} is above 2.0`);
      }),
  });
}

Deno.test("the unit's log folder is one the executable may write, kept in its StateDirectory; it answers to the nginx site's name; the admin token only in its environment file", async () => {
  const text = await Deno.readTextFile(UNIT);
  const env = (name: string) => new RegExp(`^Environment=${name}=(.*)$`, "m").exec(text)?.[1];
  assertEquals(env("WIRECHAT_LOG_DIR"), "/var/lib/wirechat");
  // nginx forwards the browser's Host: the server must answer to the site's name (its Host allow-list).
  const siteName = /^\s*server_name (\S+);$/m.exec(await Deno.readTextFile(SITE))?.[1];
  assertEquals(env("WIRECHAT_ALLOWED_HOSTS"), siteName);
  assertOk(STANDALONE_LOG_DIRS.includes("/var/lib/wirechat"));
  assertMatch(text, /^StateDirectory=wirechat$/m);
  assertMatch(text, /^Type=simple$/m);
  assertMatch(text, /^Restart=on-failure$/m);
  assertMatch(text, /^DynamicUser=yes$/m);
  assertMatch(text, /^ProtectSystem=strict$/m);
  assertOk(!/^MemoryDenyWriteExecute=yes/m.test(text), "V8's JIT needs writable+executable memory");
  assertOk(EXECUTABLES.some((e) => UNIT_BINARY.endsWith(`/${e.name}`)));
  // The admin token comes from the root-only environment file, never from the unit or its command line.
  assertMatch(text, /^EnvironmentFile=-\/etc\/wirechat\/wirechat\.env$/m);
  assertEquals(env("WIRECHAT_ADMIN_TOKEN"), undefined);
  assertOk(!/^ExecStart=.*admin-token/m.test(text));
});

// ---------------------------------------------------------------- nginx

interface Certs {
  ca: string;
  cert: string;
  key: string;
}

/** A test CA and a certificate for 127.0.0.1/localhost signed by it. */
async function makeCerts(dir: string): Promise<Certs> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const steps = [
    ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=wirechat test CA"],
    ["req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"],
    [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "leaf.pem",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    ],
  ];
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  for (const args of steps) {
    const r = await run("openssl", args, { cwd: dir });
    assertEquals(r.code, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  }
  return { ca: `${dir}/ca.pem`, cert: `${dir}/leaf.pem`, key: `${dir}/leaf.key` };
}

/** A main nginx.conf around one site file, with every path inside `dir`. */
function mainConfig(dir: string, site: string): string {
  return [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log;`,
    "events {}",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  include ${site};`,
    "}",
    "",
  ].join("\n");
}

const SITE = `${ROOT}deploy/nginx/wirechat.conf`;
const COMPOSE_SITE = `${ROOT}deploy/compose/nginx.conf`;

function withCerts(site: string, certs: Certs): string {
  return site
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${certs.cert};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${certs.key};`);
}

{
  const { ignore, suffix } = needs(NGINX && OPENSSL, "nginx or openssl (apt-get install nginx openssl)");
  Deno.test({
    name: `nginx -t accepts deploy/nginx/wirechat.conf and deploy/compose/nginx.conf${suffix}`,
    ignore,
    fn: () =>
      inTempDir(async (dir) => {
        const certs = await makeCerts(dir);
        const sites: [string, string][] = [
          ["site.conf", withCerts(await Deno.readTextFile(SITE), certs)],
          // The compose upstream name resolves only on the compose network.
          [
            "compose-site.conf",
            withCerts(await Deno.readTextFile(COMPOSE_SITE), certs).replace(
              "server wirechat:12345;",
              "server 127.0.0.1:12345;",
            ),
          ],
        ];
        for (const [name, text] of sites) {
          await Deno.writeTextFile(`${dir}/${name}`, text);
          await Deno.writeTextFile(`${dir}/nginx.conf`, mainConfig(dir, `${dir}/${name}`));
          const r = await run(NGINX_BIN, ["-t", "-p", dir, "-c", `${dir}/nginx.conf`]);
          assertEquals(r.code, 0, `${name}: ${r.stderr}`);
          assertMatch(r.stderr, /test is successful/);
        }
      }),
  });

  Deno.test({
    name: `wss:// through nginx (the site example) to a real server: page, chat, Origin check${suffix}`,
    ignore,
    fn: () =>
      inTempDir(async (dir) => {
        const certs = await makeCerts(dir);
        await using server = await startTestServer();
        const [httpPort, httpsPort] = [freePort(), freePort()];
        const site = withCerts(await Deno.readTextFile(SITE), certs)
          .replace("server 127.0.0.1:12345;", `server 127.0.0.1:${server.port};`)
          .replaceAll(/^\s*listen \[::\]:\d+.*$/gm, "")
          .replace("listen 80;", `listen 127.0.0.1:${httpPort};`)
          .replace("listen 443 ssl;", `listen 127.0.0.1:${httpsPort} ssl;`);
        assertOk(site.includes(`127.0.0.1:${server.port}`) && site.includes(`127.0.0.1:${httpsPort} ssl`));
        await Deno.writeTextFile(`${dir}/site.conf`, site);
        await Deno.writeTextFile(`${dir}/nginx.conf`, mainConfig(dir, `${dir}/site.conf`));
        const nginx = new Deno.Command(NGINX_BIN, {
          args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.ca)] });
        try {
          await waitForPort(httpsPort, nginx, dir);
          const origin = `https://127.0.0.1:${httpsPort}`;

          const redirect = await fetch(`http://127.0.0.1:${httpPort}/x`, { redirect: "manual" });
          await redirect.body?.cancel();
          assertEquals(redirect.status, 301);
          assertEquals(redirect.headers.get("location"), `https://127.0.0.1/x`);

          const metrics = await fetch(`${origin}/metrics`, { client });
          await metrics.body?.cancel();
          assertEquals(metrics.status, 404, "metrics are not public");

          const page = await fetch(`${origin}/`, { client });
          assertEquals(page.status, 200);
          assertMatch(page.headers.get("content-type") ?? "", /^text\/html/);
          assertMatch(await page.text(), /<html/);

          // A browser on the page: its Origin must pass the server's own-origin check through nginx.
          const alice = await wssJoin(`wss://127.0.0.1:${httpsPort}/`, "alice", client, origin);
          const bob = await wssJoin(`wss://127.0.0.1:${httpsPort}/`, "bob", client, origin);
          await alice.until("SYS bob joined the chat!");
          alice.send("MSG hello through nginx");
          await bob.until(/^MSG \[[^\]]+\] alice: hello through nginx$/);
          await alice.until(/^MSG \[[^\]]+\] alice: hello through nginx$/);
          alice.close();
          bob.close();
          await alice.closed;
          await bob.closed;

          // Another site's page may not open a chat connection.
          const evil = new WebSocket(`wss://127.0.0.1:${httpsPort}/`, {
            client,
            headers: { origin: "https://evil.example" },
          });
          const refused = await new Promise<boolean>((resolve) => {
            evil.onopen = () => {
              evil.close();
              resolve(false);
            };
            evil.onerror = () => resolve(true);
          });
          if (evil.readyState !== WebSocket.CLOSED) {
            await new Promise((resolve) => evil.onclose = resolve);
          }
          assertOk(refused, "a cross-site Origin was let through nginx");
        } finally {
          client.close();
          nginx.kill("SIGTERM");
          await nginx.status;
        }
      }),
  });
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits (bounded) until nginx accepts on `port`; fails with its error log if it exits. */
async function waitForPort(port: number, nginx: Deno.ChildProcess, dir: string) {
  let exited = false;
  nginx.status.then(() => exited = true);
  const signal = AbortSignal.timeout(WAIT_MS);
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
      if (exited) throw new Error(`nginx exited: ${log}`);
      if (signal.aborted) throw new Error(`nginx did not listen on ${port} within ${WAIT_MS} ms: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

interface Wss {
  until(want: string | RegExp): Promise<string>;
  send(line: string): void;
  close(): void;
  closed: Promise<void>;
}

/** A WebSocket through TLS with a custom CA and Origin, joined as `nick`. */
async function wssJoin(url: string, nick: string, client: Deno.HttpClient, origin: string): Promise<Wss> {
  const ws = new WebSocket(url, { client, headers: { origin } });
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  const closed = Promise.withResolvers<void>();
  ws.onmessage = (e) => {
    lines.push(...String(e.data).split("\n"));
    wake?.();
  };
  ws.onclose = () => {
    closed.resolve();
    wake?.();
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`could not open ${url}`));
  });
  async function until(want: string | RegExp): Promise<string> {
    const signal = AbortSignal.timeout(WAIT_MS);
    for (;;) {
      while (lines.length > 0) {
        const line = lines.shift()!;
        if (typeof want === "string" ? line === want : want.test(line)) return line;
      }
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting for ${want}`);
      if (signal.aborted) throw new Error(`no ${want} within ${WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
  await until("SYS Send: NICK <name>");
  ws.send(`NICK ${nick}`);
  await until(`SYS ${nick} joined the chat!`);
  return { until, send: (l) => ws.send(l), close: () => ws.close(), closed: closed.promise };
}

// ---------------------------------------------------------------- compose, Dockerfile, workflows

{
  const { ignore, suffix } = needs(
    COMPOSE !== undefined,
    "docker compose or docker-compose (apt-get install docker-compose)",
  );
  Deno.test({
    name: `compose config accepts compose.yaml and compose.redis.yaml${suffix}`,
    ignore,
    fn: async () => {
      for (const file of ["compose.yaml", "compose.redis.yaml"]) {
        const [cmd, ...pre] = COMPOSE!;
        const r = await run(cmd, [...pre, "-f", `${ROOT}${file}`, "config", "-q"], { cwd: ROOT });
        assertEquals(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
      }
    },
  });
}

{
  const { ignore, suffix } = needs(YAML, "python3 with PyYAML (apt-get install python3-yaml)");
  Deno.test({
    name:
      `the compose files run the server behind nginx with its log folder on a volume, the admin token from the environment${suffix}`,
    ignore,
    fn: async () => {
      const [single, redis] = await parseYaml(["compose.yaml", "compose.redis.yaml"]) as {
        services: Record<string, Record<string, unknown>>;
      }[];
      assertEquals(Object.keys(single.services).sort(), ["nginx", "wirechat"]);
      assertEquals(single.services.wirechat.volumes, ["wirechat-data:/data"]);
      assertEquals(single.services.wirechat.ports, undefined, "only nginx is published");
      assertOk(String(single.services.nginx.volumes).includes("deploy/compose/nginx.conf"));
      assertEquals(Object.keys(redis.services).sort(), ["nginx", "redis", "wirechat-a", "wirechat-b"]);
      // The admin token comes from the operator's shell or .env, the same on every node; never written here.
      for (const service of [single.services.wirechat, redis.services["wirechat-a"], redis.services["wirechat-b"]]) {
        const environment = service.environment as Record<string, string>;
        assertEquals(environment.WIRECHAT_ADMIN_TOKEN, "${WIRECHAT_ADMIN_TOKEN:-}");
      }
      for (const node of ["wirechat-a", "wirechat-b"]) {
        assertEquals(redis.services[node].command, ["--redis", "redis://redis:6379"]);
        assertEquals((redis.services[node].networks as { chat: { aliases: string[] } }).chat.aliases, ["wirechat"]);
      }
    },
  });

  Deno.test({
    name: `the workflows: ci runs .ci/run; release builds every target, smoke-tests, checksums, publishes${suffix}`,
    ignore,
    fn: async () => {
      type Step = { run?: string; uses?: string };
      type Workflow = { on: Record<string, unknown>; jobs: Record<string, { steps: Step[] }> };
      const [ci, release] = await parseYaml([
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
      ]) as Workflow[];
      const runs = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps).map((s) => s.run ?? "").join("\n");
      assertMatch(runs(ci), /^bash \.ci\/run$/m);
      assertEquals(release.on, { push: { tags: ["v*"] } });
      const script = runs(release);
      assertMatch(script, /^deno task compile$/m);
      assertMatch(script, /tools\/smoke\.ts "\$PWD\/dist\/wirechat-server-x86_64-unknown-linux-gnu"/);
      assertMatch(script, /sha256sum wirechat-\* > SHA256SUMS/);
      assertMatch(script, /gh release create "\$GITHUB_REF_NAME" dist\/\*/);
      // `deno task compile` with no --target builds these; the smoke test names one of them.
      assertOk(TARGETS.includes("x86_64-unknown-linux-gnu"));
    },
  });
}

Deno.test("the Dockerfile: compile stage, non-root runtime, /data is a baked log folder, self-probing HEALTHCHECK", async () => {
  const text = await Deno.readTextFile(`${ROOT}Dockerfile`);
  const lines = text.replaceAll("\\\n", " ").split("\n").filter((l) => l.trim() && !l.trimStart().startsWith("#"));
  const froms = lines.filter((l) => /^FROM /.test(l));
  assertEquals(froms.length, 2, "two stages");
  assertMatch(froms[0], /^FROM denoland\/deno:\$\{DENO_VERSION\} AS build$/);
  assertMatch(text, /RUN deno task compile --target host/);
  assertMatch(text, /^USER 65532:65532$/m);
  assertMatch(text, /WIRECHAT_LOG_DIR=\/data/);
  assertOk(STANDALONE_LOG_DIRS.includes("/data"));
  assertMatch(text, /WIRECHAT_HOST=0\.0\.0\.0/);
  assertMatch(text, /^VOLUME \["\/data"\]$/m);
  assertMatch(text, /HEALTHCHECK .*CMD \["\/usr\/local\/bin\/wirechat-server", "healthcheck"\]/s);
  assertMatch(text, /^ENTRYPOINT \["\/usr\/local\/bin\/wirechat-server"\]$/m);
});
