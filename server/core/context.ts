/**
 * What every transport needs from the server: the room, the outbound
 * scheduler, metrics, the configuration and the connection registry.
 *
 * @module
 */
import type { ServerConfig } from "../ops/config.ts";
import type { Dialects } from "../dialects/catalog.ts";
import type { Dialect } from "./dialect.ts";
import { addressOf, type Admission, armRegistrationDeadline, createAdmission, parseList } from "./limits.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { OutboundScheduler } from "./outbound.ts";
import type { Peer } from "./peer.ts";
import type { Moderation } from "./moderation.ts";
import type { Room } from "./room.ts";
import { createSession, type Session } from "./session.ts";

/** One live connection. */
export interface Connection {
  peer: Peer;
  session: Session;
}

/** Shared server state handed to transports. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly room: Room;
  readonly scheduler: OutboundScheduler;
  readonly metrics: Metrics;
  /** This server's dialects (a transport picks one per connection). */
  readonly dialects: Dialects;
  /** Admin gate, bans and forbidden words. */
  readonly moderation: Moderation;
  /** Every open connection, joined or not. */
  readonly connections: Set<Connection>;
  /** Open connections per address and new-connection rates (see limits.ts). */
  readonly admission: Admission;
  /** True once shutdown began: transports refuse new connections. */
  readonly shuttingDown: boolean;
  /**
   * Creates and registers the session for a new peer speaking `dialect`;
   * `protocols`: the WebSocket subprotocols the client offered (they may
   * declare capabilities).
   */
  attach(peer: Peer, dialect: Dialect, protocols?: readonly string[]): Session;
  /** Milliseconds since the server started (monotonic). */
  uptimeMs(): number;
  /**
   * Registers a promise that settles when a transport connection has fully
   * ended. With `remote`, the connection counts against the client limits
   * until then, even after its session ended (a peer that never reads keeps
   * its socket and buffers until the TCP connection is gone).
   */
  track(ended: Promise<void>, remote?: string): void;
  /** Resolves once every tracked connection has ended. */
  drained(): Promise<void>;
}

/** Creates the context; `isShuttingDown` reads the server's state. */
export function createContext(
  parts: Omit<
    ServerContext,
    "connections" | "attach" | "shuttingDown" | "track" | "drained" | "admission" | "uptimeMs"
  >,
  isShuttingDown: () => boolean,
): ServerContext {
  const started = performance.now();
  const uptimeMs = () => performance.now() - started;
  const connections = new Set<Connection>();
  const live = new Set<Promise<void>>();
  const { config, room, metrics } = parts;
  const admission = createAdmission({
    maxClients: config.maxClients,
    maxClientsPerAddress: config.maxClientsPerAddress,
    connectsPerMinute: config.connectsPerMinute,
    exempt: parseList(config.limitExempt),
  });
  return {
    ...parts,
    connections,
    admission,
    get shuttingDown() {
      return isShuttingDown();
    },
    track(ended, remote) {
      live.add(ended);
      const address = remote === undefined ? undefined : addressOf(remote);
      if (address !== undefined) admission.opened(address);
      // One reaction per connection (this is held for the connection's whole life): release its slot, forget it.
      const done = () => {
        if (address !== undefined) admission.closed(address);
        live.delete(ended);
      };
      ended.then(done, done);
    },
    async drained() {
      await Promise.all([...live]);
    },
    uptimeMs,
    attach(peer, dialect, protocols) {
      const conn: Connection = {
        peer,
        session: createSession({
          room,
          peer,
          dialect,
          protocols,
          uptimeMs,
          maxLine: config.maxLine,
          rateLimit: { burst: config.rateBurst, perSecond: config.ratePerSecond },
          onError: (code) => metrics.inc("wirechat_errors_total", 1, { code }),
          moderation: parts.moderation,
          onClose: () => {
            if (connections.delete(conn)) cancelDeadline();
          },
          // A joined member is past the deadline: its timer (and what it holds) goes now, not at the deadline.
          onJoined: () => cancelDeadline(),
        }),
      };
      connections.add(conn);
      const cancelDeadline = armRegistrationDeadline(
        peer,
        config.registrationTimeout,
        () => conn.session.nick !== undefined,
        metrics,
      );
      metrics.inc("wirechat_connections_total", 1, { kind: peer.kind });
      return conn.session;
    },
  };
}
