/**
 * Trusting an extra certificate for `wss://` (`--ca <file>`): Deno's
 * `WebSocket` accepts a `Deno.HttpClient` built with `caCerts`.
 *
 * @module
 */

/** A socket factory for the connection wrapper, and the resource to release at exit. */
export interface SocketFactory {
  create(url: string, protocols: string[]): WebSocket;
  close(): void;
}

/** A `--ca` file that cannot be used. */
export class CaFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaFileError";
  }
}

/**
 * Builds a socket factory that trusts the PEM certificate(s) in `caPath`
 * (besides the system roots), or the plain `WebSocket` when no path is given.
 *
 * @throws {CaFileError} when the file cannot be read or holds no certificate.
 */
export async function socketFactory(caPath?: string): Promise<SocketFactory> {
  if (caPath === undefined) return { create: (url, protocols) => new WebSocket(url, protocols), close() {} };
  let pem: string;
  try {
    pem = await Deno.readTextFile(caPath);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : err instanceof Error ? err.message : String(err);
    throw new CaFileError(`Cannot read the --ca file ${JSON.stringify(caPath)}: ${why}.`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CaFileError(`The --ca file ${JSON.stringify(caPath)} holds no PEM certificate.`);
  }
  const client = Deno.createHttpClient({ caCerts: [pem] });
  return {
    create: (url, protocols) => new WebSocket(url, { protocols, client }),
    close: () => client.close(),
  };
}
