/**
 * The terminal client. TODO(#4): interactive and pipe modes.
 *
 * @module
 */

/** Runs the client with command-line `args`; resolves to the exit code. */
export function runClient(_args: string[], _env: (name: string) => string | undefined): Promise<number> {
  console.error("wirechat client: not built yet (issue #4)");
  return Promise.resolve(1);
}
