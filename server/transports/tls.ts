/**
 * Native TLS: with `--tls-cert` and `--tls-key` the server speaks `https://`
 * and `wss://` itself (`node:tls`, see `http_listener.ts`); without them, plain `http://`/`ws://` (for example
 * behind a TLS-terminating reverse proxy).
 *
 * @module
 */
import { readOptionFile, StartupError } from "../ops/startup_error.ts";

/** The PEM certificate chain and key for the listener, or undefined for plain TCP. */
export interface TlsFiles {
  cert: string;
  key: string;
}

const CERT_PEM = /-----BEGIN CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN ((RSA|EC|ENCRYPTED) )?PRIVATE KEY-----/;

/**
 * Reads and checks the PEM files named by the options (the pair is checked
 * by the option parser: both or neither).
 *
 * @throws {StartupError} `tls_file`, one sentence naming the flag, the file
 * and the fix, when a file cannot be read or holds no PEM certificate/key.
 */
export function loadTls(certPath: string | undefined, keyPath: string | undefined): TlsFiles | undefined {
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) {
    throw new StartupError("tls_file", "--tls-cert and --tls-key go together; give both files or neither.");
  }
  const cert = readOptionFile(certPath, "--tls-cert", "tls_file");
  const key = readOptionFile(keyPath, "--tls-key", "tls_file");
  if (!CERT_PEM.test(cert)) {
    const isKey = KEY_PEM.test(cert);
    throw new StartupError(
      "tls_file",
      `--tls-cert ${JSON.stringify(certPath)} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)${
        isKey ? "; it looks like the private key, which goes to --tls-key" : ""
      }; give the certificate chain file, e.g. fullchain.pem.`,
    );
  }
  if (!KEY_PEM.test(key)) {
    throw new StartupError(
      "tls_file",
      `--tls-key ${
        JSON.stringify(keyPath)
      } holds no PEM private key (no "-----BEGIN … PRIVATE KEY-----" line); give the key file that belongs to --tls-cert, e.g. privkey.pem.`,
    );
  }
  checkPair(cert, key, certPath, keyPath);
  return { cert, key };
}

/** Lets the TLS library parse the pair once (a loopback listener on a free port, closed at once). */
function checkPair(cert: string, key: string, certPath: string, keyPath: string): void {
  try {
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key }).close();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/KeyMismatch|not be consistent/i.test(message)) {
      throw new StartupError(
        "tls_file",
        `--tls-key ${JSON.stringify(keyPath)} does not belong to the certificate in --tls-cert ${
          JSON.stringify(certPath)
        }; give the key that was generated with that certificate.`,
        { cause: err },
      );
    }
    if (/certificate/i.test(message)) {
      throw new StartupError(
        "tls_file",
        `--tls-cert ${
          JSON.stringify(certPath)
        } is not a valid PEM certificate (${message}); give the certificate chain file, e.g. fullchain.pem.`,
        { cause: err },
      );
    }
    if (/key/i.test(message)) {
      throw new StartupError(
        "tls_file",
        `--tls-key ${
          JSON.stringify(keyPath)
        } is not a valid PEM private key (${message}); give the key file for --tls-cert, e.g. privkey.pem.`,
        { cause: err },
      );
    }
    // Anything else (no permission for the loopback check): the listener will say.
  }
}
