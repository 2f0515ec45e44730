/**
 * The terminal client: `wirechat client [flags]`. Interactive when stdin is
 * a terminal, pipe mode otherwise.
 *
 * Exit codes: 0 after a clean quit (or the end of piped input), 1 when the
 * connection fails or is lost for good (one sentence on stderr), 2 on a
 * usage error.
 *
 * @module
 */
import { VERSION } from "../../protocol/mod.ts";
import { clientUsage, ClientUsageError, DEFAULT_HOST, DEFAULT_PORT, parseClientArgs, urlFor } from "./args.ts";
import { runInteractive } from "./interactive.ts";
import { runPipe } from "./pipe.ts";
import { createStyle, wantColor } from "./style.ts";
import { CaFileError, type SocketFactory, socketFactory } from "./tls.ts";
import { openTerminal, writeAllSync } from "./tty.ts";

function printErr(sentence: string): void {
  try {
    writeAllSync(Deno.stderr, `wirechat client: ${sentence}\n`);
  } catch {
    // stderr gone: nothing left to tell
  }
}

/** Runs the client with command-line `args`; resolves to the exit code. */
export async function runClient(args: string[], env: (name: string) => string | undefined): Promise<number> {
  let parsed;
  try {
    parsed = parseClientArgs(args);
  } catch (err) {
    if (!(err instanceof ClientUsageError)) throw err;
    printErr(err.message);
    return 2;
  }
  if (parsed.kind === "help") {
    console.log(clientUsage());
    return 0;
  }
  if (parsed.kind === "version") {
    console.log(`wirechat ${VERSION}`);
    return 0;
  }
  const a = parsed.args;
  const interactive = Deno.stdin.isTerminal();
  if (!interactive && a.nick === undefined) {
    printErr("--nick is required when stdin is not a terminal (pipe mode); add --nick <name>.");
    return 2;
  }
  let sockets: SocketFactory;
  try {
    sockets = await socketFactory(a.ca);
  } catch (err) {
    if (!(err instanceof CaFileError)) throw err;
    printErr(err.message);
    return 1;
  }
  try {
    if (!interactive) {
      const stdoutTty = Deno.stdout.isTerminal();
      return await runPipe({
        url: a.url ?? urlFor(a.host ?? DEFAULT_HOST, a.port ?? DEFAULT_PORT),
        nick: a.nick!,
        input: Deno.stdin.readable,
        out(line) {
          try {
            writeAllSync(Deno.stdout, `${line}\n`);
            return true;
          } catch {
            return false;
          }
        },
        err: printErr,
        neutralizeOutput: stdoutTty,
        createSocket: sockets.create,
      });
    }
    const terminal = openTerminal();
    return await runInteractive({
      terminal,
      style: createStyle(wantColor(a.noColor, env, Deno.stdout.isTerminal())),
      err: printErr,
      url: a.url,
      host: a.host,
      port: a.port,
      nick: a.nick,
      createSocket: sockets.create,
    });
  } catch (err) {
    // A bug, not a network condition: still one sentence, and the terminal restored.
    if (interactive) {
      try {
        Deno.stdin.setRaw(false);
        writeAllSync(Deno.stdout, "\r\n");
      } catch {
        // nothing more to restore
      }
    }
    printErr(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    sockets.close();
  }
}
