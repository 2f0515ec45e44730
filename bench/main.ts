/**
 * `deno task bench`: the load generator's command line. See `--help` and
 * docs/PERFORMANCE.md.
 *
 * @module
 */
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from "./options.ts";
import { stderrProgress } from "./progress.ts";
import { formatReport } from "./report.ts";
import { runBench } from "./run.ts";

async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(args);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    console.error(`bench: ${err.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(BENCH_USAGE);
    return 0;
  }
  // On a terminal: phases and a live status line; piped: quiet unless --progress.
  const progress = stderrProgress("bench", options.progress);
  try {
    const result = await runBench(options, (line, loadSeconds) => {
      progress.phase(line);
      if (loadSeconds !== undefined) progress.countdown("load", loadSeconds);
    });
    progress.stop();
    console.log(options.json ? JSON.stringify(result, null, 2) : formatReport(result));
    return 0;
  } catch (err) {
    progress.stop();
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
