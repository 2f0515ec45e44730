/**
 * `deno task docs`: writes the tables in docs/ that the code already holds,
 * so they cannot drift: the server options (`SERVER_OPTIONS` in
 * server/ops/config.ts), the metrics (what a running server registers,
 * plus `REDIS_METRICS`) and the limits (every exported numeric constant of
 * protocol/ and server/ with its doc comment). Each table sits between
 * `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a Markdown
 * file; `--check` writes nothing and exits 1 when a file differs
 * (tests/docs_test.ts does the same).
 *
 * @module
 */
import { envName, SERVER_OPTIONS } from "../server/ops/config.ts";
import { REDIS_METRICS } from "../server/redis/setup.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Usage text. */
export const DOCS_USAGE = `Usage: deno task docs [--check]

Rewrites the generated tables in README.md and docs/*.md (configuration, metrics, limits)
from the code: server/ops/config.ts, the metrics a server registers, the limit constants.

  --check   write nothing; exit 1 when a file is out of date
  --help    show this help`;

/** Escapes a table cell. */
function cell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

const number = (n: number) => Number.isInteger(n) && Math.abs(n) >= 10_000 ? n.toLocaleString("en-US") : String(n);

/** The server options table: flag, environment variable, default, meaning with the allowed range. */
export function configTable(): string {
  return table(
    ["flag", "environment", "default", "meaning"],
    SERVER_OPTIONS.map((o) => {
      const def = o.default === undefined ? "off" : o.default === "" ? "(empty)" : `\`${o.default}\``;
      const range = o.kind === "port" || o.kind === "optional-port"
        ? " (0–65535)"
        : o.min !== undefined || o.max !== undefined
        ? ` (${number(o.min ?? -Infinity)}–${number(o.max ?? Infinity)})`
        : "";
      // A secret is never a flag (a command line is visible to every local user).
      const flag = o.envOnly ? "(environment only)" : `\`--${o.flag}\``;
      return [flag, `\`${envName(o.flag)}\``, def, cell(`${o.help}${range}`)];
    }),
  );
}

/** The metrics table: every metric a freshly started server exposes, then those `--redis` adds. */
export async function metricsTable(): Promise<string> {
  const { startServer } = await import("../server/server.ts");
  const { defaultServerConfig } = await import("../server/ops/config.ts");
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-docs-" });
  // As `main.ts` starts it: with the operational log's counters.
  const server = await startServer(defaultServerConfig({ host: "127.0.0.1", port: 0, logDir, idleTimeout: 0 }), {
    serverLog: { failures: () => 0, dropped: () => 0 },
  });
  let text: string;
  try {
    text = server.metrics.render();
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
  const rows: string[][] = [];
  const help = new Map<string, string>();
  for (const m of text.matchAll(/^# HELP (\S+) (.*)$/gm)) help.set(m[1], m[2]);
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) rows.push([`\`${m[1]}\``, m[2], cell(help.get(m[1]) ?? "")]);
  for (const [name, m] of Object.entries(REDIS_METRICS)) {
    rows.push([`\`${name}\``, m.kind, cell(`${m.help} (with --redis)`)]);
  }
  return table(["metric", "kind", "meaning"], rows);
}

/** Source folders whose exported numeric constants are limits. */
const LIMIT_DIRS = ["protocol", "server"];
/** Names that are identifiers of a format rather than limits. */
const NOT_A_LIMIT = /VERSION|_CODE$/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sourceFiles(path));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".gen.ts")) out.push(path);
  }
  return out.sort();
}

interface DocSymbol {
  name: string;
  declarations: {
    declarationKind: string;
    kind: string;
    location: { filename: string };
    jsDoc?: { doc?: string };
    def?: { kind?: string };
  }[];
}

/**
 * The limits table: every exported numeric constant in protocol/ and
 * server/, with its value, the flag that overrides it (a `DEFAULT_X`
 * constant whose `--x` option exists) and its doc comment.
 */
export async function limitsTable(): Promise<string> {
  const files = LIMIT_DIRS.flatMap(sourceFiles);
  const out = await new Deno.Command(Deno.execPath(), { args: ["doc", "--json", ...files], cwd: ROOT }).output();
  if (!out.success) throw new Error(`deno doc failed: ${new TextDecoder().decode(out.stderr)}`);
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols: DocSymbol[] }>;
  };
  const flags = new Set(SERVER_OPTIONS.filter((o) => !o.envOnly).map((o) => o.flag));
  const rows: string[][] = [];
  for (const [url, mod] of Object.entries(doc.nodes).sort(([a], [b]) => a.localeCompare(b))) {
    const path = new URL(url).pathname.slice(ROOT.length);
    const exports = await import(`${ROOT}${path}`) as Record<string, unknown>;
    for (const sym of mod.symbols) {
      // Declared here (a re-export, as in protocol/mod.ts, is listed where it is defined).
      const decl = sym.declarations.find((d) =>
        d.declarationKind === "export" && d.kind === "variable" && d.location.filename === url
      );
      const value = exports[sym.name];
      if (!decl || decl.def?.kind !== "const" || typeof value !== "number" || NOT_A_LIMIT.test(sym.name)) continue;
      const flag = /^DEFAULT_(.+?)(_MS)?$/.exec(sym.name)?.[1].toLowerCase().replaceAll("_", "-");
      const doc = (decl.jsDoc?.doc ?? "").split(/\n\s*\n/)[0].replace(/\{@link(code)? ([^}]+)\}/g, "`$2`")
        .replace(/\s+/g, " ").trim();
      rows.push([
        `\`${sym.name}\``,
        number(value),
        flag && flags.has(flag) ? `\`--${flag}\`` : "fixed",
        cell(doc),
        `\`${path}\``,
      ]);
    }
  }
  return table(["constant", "value", "flag", "meaning", "defined in"], rows);
}

/** The generated regions, by name. */
export async function generatedRegions(): Promise<Record<string, string>> {
  return { config: configTable(), metrics: await metricsTable(), limits: await limitsTable() };
}

const REGION = /(<!-- generated:([a-z-]+) -->\n)[\s\S]*?(<!-- \/generated:\2 -->)/g;

/** `text` with every generated region replaced. */
export function fillRegions(text: string, regions: Record<string, string>, file = "?"): string {
  return text.replace(REGION, (_all, open: string, name: string, close: string) => {
    if (!(name in regions)) throw new Error(`${file}: unknown generated region ${JSON.stringify(name)}`);
    return `${open}\n${regions[name]}\n\n${close}`;
  });
}

/** The Markdown files that may hold generated regions. */
export function docFiles(): string[] {
  return [
    "README.md",
    ...[...Deno.readDirSync(`${ROOT}docs`)].filter((e) => e.name.endsWith(".md")).map((e) => `docs/${e.name}`).sort(),
  ];
}

/** Every doc file whose committed text differs from what the generator writes: path → fresh text. */
export async function staleDocs(): Promise<Map<string, string>> {
  const regions = await generatedRegions();
  const stale = new Map<string, string>();
  for (const file of docFiles()) {
    const current = await Deno.readTextFile(`${ROOT}${file}`);
    const fresh = fillRegions(current, regions, file);
    if (fresh !== current) stale.set(file, fresh);
  }
  return stale;
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help")) {
    console.log(DOCS_USAGE);
    Deno.exit(0);
  }
  const unknown = args.find((a) => a !== "--check");
  if (unknown !== undefined) {
    console.error(`docs: unknown option ${JSON.stringify(unknown)}\n\n${DOCS_USAGE}`);
    Deno.exit(2);
  }
  const stale = await staleDocs();
  if (args.includes("--check")) {
    for (const file of stale.keys()) console.error(`${file} is out of date: run deno task docs`);
    Deno.exit(stale.size ? 1 : 0);
  }
  for (const [file, text] of stale) {
    await Deno.writeTextFile(`${ROOT}${file}`, text);
    console.log(`wrote ${file}`);
  }
  if (stale.size === 0) console.log("docs are up to date");
}
