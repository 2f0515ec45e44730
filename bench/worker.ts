/**
 * A load-generator worker: runs a share of the clients on its own thread.
 * It connects and joins them, sends the senders' messages (throttled or with
 * a bounded in-flight window), parses every delivery straight from the bytes
 * (sender, sequence number and send time are in the message text), and
 * reports counts and a latency histogram. Driven by {@linkcode WorkerCommand}
 * messages from `run.ts`.
 *
 * @module
 */
import { createHistogram, type Histogram, record } from "./histogram.ts";
import { openRawSocket, type RawSocket } from "./raw_socket.ts";

/** One client this worker runs. */
export interface ClientSpec {
  nick: string;
  url: string;
  /** Sender index, or -1 for a client that only reads. */
  sender: number;
  /** Stops reading once joined. */
  stall: boolean;
}

/** Shared settings of a run. */
export interface WorkerSetup {
  runId: string;
  clients: ClientSpec[];
  senders: number;
  batch: boolean;
  /** Messages/s per sender; 0 = unthrottled. */
  ratePerSender: number;
  window: number;
  size: number;
  history: number;
  connectConcurrency: number;
  /** Absolute clock (ms) by which everyone must be joined. */
  joinDeadline: number;
  /** Absolute clock (ms) that message timestamps count from. */
  epoch: number;
}

/** Messages from the coordinator. */
export type WorkerCommand =
  | { type: "init"; setup: WorkerSetup }
  | { type: "barrier" }
  | { type: "go"; start: number; warmEnd: number; end: number }
  | { type: "drain"; totals: number[]; deadline: number }
  | { type: "close" };

/** What a worker reports after its clients joined. */
export interface JoinReport {
  type: "joined";
  connectMs: number[];
  joinMs: number[];
  replayMs: number[];
  failed: number;
  failures: string[];
}

/** Delivery accounting and failures, as a worker reports them and as the run sums them. */
export interface Tally {
  missing: number;
  duplicated: number;
  errors: number;
  errorSamples: string[];
  closedByServer: number;
  closeSamples: string[];
}

/** What a worker reports at the end. */
export interface FinalReport extends Tally {
  type: "result";
  delivered: number;
  deliveredInWindow: number;
  /** Text frames the clients received during the window. */
  framesInWindow: number;
  sentInWindow: number;
  stalledLeft: string[];
  stalledClosed: number;
  hist: Histogram;
  /** Sampled: send time → the server's timestamp, and the server's timestamp → receipt (ms resolution). */
  toServer: Histogram;
  fromServer: Histogram;
}

/** Messages to the coordinator. */
export type WorkerReport =
  | { type: "nicked" }
  /** A client saw its own join notice: the server announces joins, no barrier is needed. */
  | { type: "announced" }
  | JoinReport
  | { type: "sent"; sent: [number, number][] }
  | FinalReport
  | { type: "closed" }
  | { type: "fatal"; error: string };

/** The clock shared by all workers (absolute milliseconds, sub-ms resolution). */
export const clock = (): number => performance.timeOrigin + performance.now();

const decoder = new TextDecoder();
const SAMPLES = 5;

/** The digits `buf[i, i + n)` as a number; NaN if one is not a digit. */
function digits(buf: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (const e = i + n; i < e; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The UTC time `2026-11-26T16:38:06.123Z` at `buf[i]` in milliseconds, as `Date.parse` reads it, without decoding
 * it to a string first; NaN when it has another shape.
 */
export function isoMs(buf: Uint8Array, i: number): number {
  if (
    buf[i + 4] !== 45 || buf[i + 7] !== 45 || buf[i + 10] !== 84 || buf[i + 13] !== 58 || buf[i + 16] !== 58 ||
    buf[i + 19] !== 46 || buf[i + 23] !== 90
  ) {
    return NaN;
  }
  return Date.UTC(
    digits(buf, i, 4),
    digits(buf, i + 5, 2) - 1,
    digits(buf, i + 8, 2),
    digits(buf, i + 11, 2),
    digits(buf, i + 14, 2),
    digits(buf, i + 17, 2),
    digits(buf, i + 20, 3),
  );
}

/** Where the line that goes on at `buf[k]` ends: its "\n", or `e`. A plain loop beats the native `indexOf` call. */
function lineEnd(buf: Uint8Array, k: number, e: number): number {
  while (k < e && buf[k] !== 10) k++;
  return k;
}

interface Client {
  spec: ClientSpec;
  socket?: RawSocket;
  t0: number;
  joined: boolean;
  replayed: number;
  ready: boolean;
  expected: Int32Array;
  gaps: number;
  dups: number;
  /** Sender state. */
  seq: number;
  inflight: number;
  closedBy?: string;
}

/** The clients of one worker; `post` carries reports to the coordinator. */
export function createWorkerClients(
  setup: WorkerSetup,
  post: (r: WorkerReport, transfer?: Transferable[]) => void,
): {
  joinAll(): Promise<void>;
  go(start: number, warmEnd: number, end: number): void;
  drain(totals: number[], deadline: number): Promise<void>;
  closeAll(): Promise<void>;
  barrier(): void;
} {
  const { runId, senders, epoch, size } = setup;
  const [rid0, rid1, rid2, rid3] = [...runId].map((c) => c.charCodeAt(0));
  const clients: Client[] = setup.clients.map((spec) => ({
    spec,
    t0: 0,
    joined: false,
    replayed: 0,
    ready: false,
    expected: new Int32Array(senders),
    gaps: 0,
    dups: 0,
    seq: 0,
    inflight: 0,
  }));
  const stallNicks = new Set(setup.clients.filter((c) => c.stall).map((c) => c.nick));
  const hist = createHistogram();
  const toServer = createHistogram(), fromServer = createHistogram();
  let splitTick = 0;
  const connectMs: number[] = [], joinMs: number[] = [], replayMs: number[] = [];
  const failures: string[] = [];
  const errorSamples: string[] = [];
  const stalledLeft = new Set<string>();
  let failed = 0, errors = 0, delivered = 0, deliveredInWindow = 0, sentInWindow = 0, framesInWindow = 0;
  let sending = false, warmEnd = Infinity, end = Infinity;
  const pad = "x".repeat(setup.size);
  let onReady: () => void = () => {};
  let announced = false;

  function sendOne(c: Client) {
    const at = clock();
    const tUs = Math.round((at - epoch) * 1000);
    const head = `${runId} ${c.spec.sender} ${c.seq} ${tUs} `;
    c.socket!.send(`MSG ${head}${pad.slice(0, Math.max(1, setup.size - head.length))}`);
    c.seq++;
    c.inflight++;
    if (at >= warmEnd && at < end) sentInWindow++;
  }

  function markReady(c: Client) {
    if (c.ready || !c.joined || c.replayed < setup.history) return;
    c.ready = true;
    joinMs.push(clock() - c.t0);
    if (c.spec.stall) c.socket!.pause();
    onReady();
  }

  function onSys(c: Client, line: string) {
    if (!c.joined) {
      if (line === `SYS ${c.spec.nick} joined the chat!`) {
        if (!announced) {
          announced = true;
          post({ type: "announced" });
        }
        c.joined = true;
        markReady(c);
      }
      return;
    }
    if (line.endsWith(" left the chat!")) {
      const nick = line.slice(4, -15);
      if (stallNicks.has(nick)) stalledLeft.add(nick);
    }
  }

  /**
   * The line that starts at `buf[i]` in a frame that ends at `e`, for client `c`, read at `at`; returns where the line
   * ends (its "\n", or `e`). Parsed in place: no view, no string, no native call per line.
   */
  function onLine(c: Client, buf: Uint8Array, i: number, e: number, at: number): number {
    const b0 = buf[i];
    if (b0 === 77 && i + 4 <= e && buf[i + 1] === 83 && buf[i + 2] === 71 && buf[i + 3] === 32) { // "MSG "
      let k = i + 4, b = 0;
      if (i + 30 < e && buf[i + 4] === 91 && buf[i + 15] === 84 && buf[i + 28] === 90 && buf[i + 29] === 93) {
        k = i + 29; // "[2026-11-26T16:38:06.123Z]": the usual ISO timestamp, no need to look for its "]"
      } else {
        while (k < e && (b = buf[k]) !== 93 && b !== 10) k++; // "]"
        if (b !== 93) return lineEnd(buf, k, e);
      }
      k += 2;
      while (k + 1 < e && (b = buf[k]) !== 10 && !(b === 58 && buf[k + 1] === 32)) k++; // ": "
      if (k + 1 >= e || b === 10) return lineEnd(buf, k, e);
      k += 2;
      const text = k;
      if (
        e - k < 6 || buf[k] !== rid0 || buf[k + 1] !== rid1 || buf[k + 2] !== rid2 || buf[k + 3] !== rid3 ||
        buf[k + 4] !== 32
      ) {
        return lineEnd(buf, k, e);
      }
      k += 5;
      const kind = buf[k];
      if (kind === 104) { // "h": a seeded history line
        if (++c.replayed === setup.history) replayMs.push(at - c.t0);
        markReady(c);
        return lineEnd(buf, k, e);
      }
      if (kind === 98) { // "b": a barrier (servers that do not announce joins)
        if (!c.joined) {
          c.joined = true;
          markReady(c);
        }
        return lineEnd(buf, k, e);
      }
      let sender = 0, seq = 0, tUs = 0;
      while (k < e && (b = buf[k]) !== 32 && b !== 10) {
        sender = sender * 10 + b - 48;
        k++;
      }
      if (k >= e || b !== 32) return lineEnd(buf, k, e); // cut short: never read on into the next line
      k++;
      while (k < e && (b = buf[k]) !== 32 && b !== 10) {
        seq = seq * 10 + b - 48;
        k++;
      }
      if (k >= e || b !== 32) return lineEnd(buf, k, e);
      k++;
      while (k < e && (b = buf[k]) !== 32 && b !== 10) {
        tUs = tUs * 10 + b - 48;
        k++;
      }
      // The padding is as long as sendOne made it: where that text ends, the line must end too ("\n" or the frame's
      // end, right after a padding byte); otherwise look for the end.
      const p = text + Math.max(size, k + 1 - text + 1);
      const j = p <= e && (p === e || buf[p] === 10) && buf[p - 1] === 120 && b === 32 ? p : lineEnd(buf, k, e);
      if (sender >= senders) return j;
      const exp = c.expected[sender];
      if (seq === exp) c.expected[sender] = exp + 1;
      else if (seq > exp) {
        c.gaps += seq - exp;
        c.expected[sender] = seq + 1;
      } else c.dups++;
      delivered++;
      if (at >= warmEnd && at < end) deliveredInWindow++;
      const sentAt = epoch + tUs / 1000;
      if (sentAt >= warmEnd) {
        record(hist, at - sentAt);
        // Every 64th delivery: split the latency at the server's own timestamp (ms resolution, same clock).
        if ((++splitTick & 63) === 0 && buf[i + 28] === 90) { // "Z" ends an ISO timestamp at "MSG [" + 23
          const stamped = isoMs(buf, i + 5);
          if (stamped === stamped) { // not NaN
            record(toServer, stamped - sentAt);
            record(fromServer, at - stamped);
          }
        }
      }
      if (c.spec.sender === sender) {
        c.inflight--;
        if (sending && setup.ratePerSender === 0 && at < end) sendOne(c);
      }
      return j;
    }
    const j = lineEnd(buf, i, e);
    if (b0 === 83 && buf[i + 1] === 89 && buf[i + 2] === 83) { // "SYS"
      // After joining only leave notices matter; skip the rest without decoding.
      if (c.joined && !(buf[j - 14] === 108 && buf[j - 11] === 116)) return j; // not "...left the chat!"
      onSys(c, decoder.decode(buf.subarray(i, j)));
    } else if (b0 === 69) { // "ERR"
      errors++;
      if (errorSamples.length < SAMPLES) errorSamples.push(decoder.decode(buf.subarray(i, j)));
    }
    return j;
  }

  async function connectOne(c: Client) {
    c.t0 = clock();
    const remaining = setup.joinDeadline - c.t0;
    const handler = (buf: Uint8Array, s: number, e: number, at: number) => {
      if (at >= warmEnd && at < end) framesInWindow++;
      for (let i = s; i < e;) i = onLine(c, buf, i, e, at) + 1;
    };
    c.socket = await openRawSocket(new URL(c.spec.url), {
      protocols: setup.batch ? ["wirechat.batch"] : undefined,
      onText: handler,
      now: clock,
      signal: AbortSignal.timeout(Math.max(1, remaining)),
    });
    connectMs.push(clock() - c.t0);
    c.socket.closed.then((info) => c.closedBy = `${info.code} ${info.reason}`);
    c.socket.send(`NICK ${c.spec.nick}`);
  }

  async function joinAll() {
    let next = 0;
    const lanes = Math.min(setup.connectConcurrency, clients.length);
    await Promise.all(Array.from({ length: lanes }, async () => {
      for (let c = clients[next++]; c; c = clients[next++]) {
        try {
          await connectOne(c);
        } catch (err) {
          failed++;
          if (failures.length < SAMPLES) failures.push(`${c.spec.nick}: ${String(err)}`);
        }
      }
    }));
    post({ type: "nicked" });
    const waiting = clients.filter((c) => c.socket && !c.ready && !c.socket.isClosed);
    let pending = waiting.length;
    if (pending > 0) {
      const done = new Promise<void>((resolve) => {
        onReady = () => {
          if (--pending === 0) resolve();
        };
      });
      // A client closed before it was ready is not waited for.
      for (const c of waiting) c.socket!.closed.then(() => !c.ready && onReady());
      const left = setup.joinDeadline - clock();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise((r) => timer = setTimeout(r, Math.max(0, left)))]);
      clearTimeout(timer);
      onReady = () => {};
    }
    for (const c of clients) {
      if (c.socket && !c.ready) {
        failed++;
        if (failures.length < SAMPLES) {
          failures.push(`${c.spec.nick}: not joined in time${c.closedBy ? ` (closed ${c.closedBy})` : ""}`);
        }
        c.socket.close();
        c.socket = undefined;
      }
    }
    post({ type: "joined", connectMs, joinMs, replayMs, failed, failures });
  }

  const active = () => clients.filter((c) => c.socket && c.ready);
  let ticker: ReturnType<typeof setInterval> | undefined;

  function go(start: number, warm: number, stop: number) {
    warmEnd = warm;
    end = stop;
    sending = true;
    const mine = active().filter((c) => c.spec.sender >= 0 && !c.spec.stall);
    if (setup.ratePerSender === 0) {
      for (const c of mine) for (let i = 0; i < setup.window; i++) sendOne(c);
    } else {
      ticker = setInterval(() => {
        const sends = ((Math.min(clock(), end) - start) / 1000) * setup.ratePerSender;
        for (const c of mine) {
          if (c.socket!.isClosed) continue;
          // Senders are phase-shifted evenly over one interval, so the total rate is smooth, not bursts of all
          // senders at the same instant.
          const due = Math.floor(sends + c.spec.sender / senders);
          while (c.seq < due) sendOne(c);
        }
      }, 1);
    }
    setTimeout(() => {
      sending = false;
      clearInterval(ticker);
      post({ type: "sent", sent: mine.map((c) => [c.spec.sender, c.seq]) });
    }, Math.max(0, stop - clock()));
  }

  async function drain(totals: number[], deadline: number) {
    const readers = () => active().filter((c) => !c.spec.stall && !c.socket!.isClosed);
    const behind = () => readers().some((c) => totals.some((t, s) => c.expected[s] < t));
    while (behind() && clock() < deadline) await new Promise((r) => setTimeout(r, 10));
    let missing = 0, duplicated = 0, closedByServer = 0, stalledClosed = 0;
    const closeSamples: string[] = [];
    for (const c of active()) {
      if (c.spec.stall) {
        if (c.socket!.isClosed) stalledClosed++;
        continue;
      }
      missing += c.gaps;
      duplicated += c.dups;
      for (let s = 0; s < senders; s++) missing += Math.max(0, (totals[s] ?? 0) - c.expected[s]);
      if (c.socket!.isClosed) {
        closedByServer++;
        if (closeSamples.length < SAMPLES) closeSamples.push(`${c.spec.nick}: ${c.closedBy}`);
      }
    }
    const report: FinalReport = {
      type: "result",
      delivered,
      deliveredInWindow,
      framesInWindow,
      sentInWindow,
      missing,
      duplicated,
      errors,
      errorSamples,
      closedByServer,
      closeSamples,
      stalledLeft: [...stalledLeft],
      stalledClosed,
      hist,
      toServer,
      fromServer,
    };
    post(report, [hist.counts.buffer, toServer.counts.buffer, fromServer.counts.buffer] as ArrayBuffer[]);
  }

  async function closeAll() {
    for (const c of clients) c.socket?.close();
    await Promise.all(clients.map((c) => c.socket?.closed));
    post({ type: "closed" });
  }

  return {
    joinAll,
    go,
    drain,
    closeAll,
    barrier() {
      const c = clients.find((c) => c.socket && !c.spec.stall);
      c?.socket?.send(`MSG ${runId} b`);
    },
  };
}
