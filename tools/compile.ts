/**
 * `deno task compile [--target <triple>|host]...`: builds the standalone
 * executables into `dist/` with `deno compile`, one run per executable and
 * target (all release targets unless `--target` is given; `host` is this
 * machine's). `deno compile` downloads a Deno runtime (denort) per target;
 * when that download fails this prints one sentence and exits 1, writing
 * nothing. An executable for this machine's target is run once
 * (`--version`) before it counts as built.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { VERSION } from "../protocol/version.ts";
import { compileArgs, DIST_DIR, EXECUTABLES, outputPath, TARGETS } from "./compile_flags.ts";

const decoder = new TextDecoder();

/** Usage text. */
export const COMPILE_USAGE = `Usage: deno task compile [--target <triple>|host]...

Builds the standalone executables (${EXECUTABLES.map((e) => e.name).join(", ")}) into ${DIST_DIR}/ with deno compile,
for every release target unless --target is given (repeatable; host = this machine).
Targets: ${TARGETS.join(", ")}.

  --target T   build for target T only (repeatable)
  --help       show this help`;

/** The runtime download URL in `deno compile` error output, if it is a download failure. */
export function runtimeDownloadFailure(stderr: string): string | undefined {
  // deno compile prints "Setting up base binary" and the denort URL when it cannot fetch the runtime.
  if (!/Setting up base binary|denort/i.test(stderr)) return undefined;
  return /https?:\/\/\S*denort\S*?\.zip/.exec(stderr)?.[0] ?? "the Deno download server";
}

function removeLeftovers(output: string) {
  const slash = output.lastIndexOf("/");
  const dir = output.slice(0, slash);
  const base = output.slice(slash + 1);
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.startsWith(`${base}.tmp-`)) Deno.removeSync(`${dir}/${entry.name}`);
  }
}

async function compileOne(args: string[], output: string): Promise<{ ok: boolean; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  await Deno.stdout.write(stdout);
  if (code !== 0) removeLeftovers(output);
  return { ok: code === 0, stderr: decoder.decode(stderr) };
}

/** Whether the built executable runs and prints this version (a wrong base binary does not). */
async function printsVersion(output: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(output, { args: ["--version"], stdin: "null", stderr: "null" }).output();
    return out.success && decoder.decode(out.stdout) === `wirechat ${VERSION}\n`;
  } catch {
    return false;
  }
}

async function main(argv: string[]): Promise<number> {
  let targets: string[];
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { target: { type: "string", multiple: true }, help: { type: "boolean" } },
    });
    if (values.help) {
      console.log(COMPILE_USAGE);
      return 0;
    }
    targets = (values.target ?? [...TARGETS]).map((t) => t === "host" ? Deno.build.target : t);
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message.split("\n")[0] : err}\n\n${COMPILE_USAGE}`);
    return 2;
  }
  const unknown = targets.filter((t) => !TARGETS.includes(t));
  if (unknown.length > 0) {
    console.error(`compile: unknown --target ${unknown.join(", ")} (known: ${TARGETS.join(", ")}, host)`);
    return 2;
  }
  Deno.mkdirSync(DIST_DIR, { recursive: true });
  for (const target of targets) {
    for (const exe of EXECUTABLES) {
      const output = outputPath(exe, target);
      const { ok, stderr } = await compileOne(compileArgs(exe, target), output);
      if (ok && target === Deno.build.target && !(await printsVersion(output))) {
        Deno.removeSync(output);
        console.error(`compile: ${output} did not print "wirechat ${VERSION}" when run, so it was removed.`);
        return 1;
      }
      if (ok) {
        console.log(`compile: wrote ${output}`);
        continue;
      }
      const url = runtimeDownloadFailure(stderr);
      if (url !== undefined) {
        console.error(
          `compile: deno compile could not download the Deno runtime for ${target} from ${url}, ` +
            `so no executable was written; run \`deno task compile\` where that host is reachable ` +
            `(the release workflow does).`,
        );
      } else {
        await Deno.stderr.write(new TextEncoder().encode(stderr));
        console.error(`compile: deno compile failed for ${output}.`);
      }
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
