/**
 * Native TLS: with `--tls-cert` and `--tls-key` the server speaks `https://`
 * and `wss://` itself (Deno.serve); without them, plain `http://`/`ws://`
 * (for example behind a TLS-terminating reverse proxy).
 *
 * @module
 */

/** The PEM certificate chain and key for `Deno.serve`, or undefined for plain TCP. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * Reads the PEM files named by the options.
 *
 * @throws {Error} when only one of the two is given, or a file cannot be read.
 */
export function loadTls(certPath: string | undefined, keyPath: string | undefined): TlsFiles | undefined {
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) throw new Error("TLS needs both --tls-cert and --tls-key");
  const read = (path: string, what: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (err) {
      throw new Error(
        `Cannot read the TLS ${what} ${JSON.stringify(path)}: ${err instanceof Error ? err.message : err}`,
      );
    }
  };
  return { cert: read(certPath, "certificate"), key: read(keyPath, "key") };
}
