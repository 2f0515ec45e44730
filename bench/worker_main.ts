/**
 * Entry point of a load-generator worker thread: wires coordinator messages
 * to {@linkcode createWorkerClients}.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createWorkerClients, type WorkerCommand, type WorkerReport } from "./worker.ts";

let clients: ReturnType<typeof createWorkerClients> | undefined;
const post = (r: WorkerReport, transfer: Transferable[] = []) => self.postMessage(r, transfer);
const fail = (err: unknown) =>
  post({ type: "fatal", error: err instanceof Error ? err.stack ?? err.message : String(err) });

self.onmessage = (e: MessageEvent<WorkerCommand>) => {
  const cmd = e.data;
  try {
    switch (cmd.type) {
      case "init":
        clients = createWorkerClients(cmd.setup, post);
        clients.joinAll().catch(fail);
        return;
      case "barrier":
        return clients?.barrier();
      case "go":
        return clients?.go(cmd.start, cmd.warmEnd, cmd.end);
      case "drain":
        return void clients?.drain(cmd.totals, cmd.deadline).catch(fail);
      case "close":
        return void clients?.closeAll().catch(fail);
    }
  } catch (err) {
    fail(err);
  }
};
