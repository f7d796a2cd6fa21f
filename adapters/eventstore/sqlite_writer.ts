/**
 * One writer thread for the event store's SQLite file, shared by every store of the process
 * that is given one of its ports (`deno task dev`: the endpoint and the API on the main
 * thread, the consumers in their worker). Two reasons:
 * - SQLite has one write lock per file. Two connections writing in turn make the one that
 *   finds it taken sleep in SQLite's busy handler (1, 2, 5, 10 ms…), and node:sqlite is
 *   synchronous, so that sleep holds its whole event loop. With every write on the writer's
 *   one connection, nobody in the process waits for the lock.
 * - A durable append's sync to disk (synchronous=FULL, 0.3 to 2 ms here) holds only the
 *   writer thread; the endpoint goes on answering meanwhile, and the appends that queue up
 *   during a sync share the next one.
 * Reads stay on each store's own connection (WAL: readers never wait for the writer).
 * sqlite_writer_worker.ts is the thread; `writesThrough` is a store's side of a port.
 * @module
 */
import type { EventStoreWrites, WriteFailure, WriteRequest, WriteResult } from "./sqlite_writes.ts";
import { fromWriteFailure } from "./sqlite_writes.ts";
import { clearImmediate, setImmediate } from "node:timers";
import { checkpointInBackground } from "../sqlite/checkpointer.ts";

/**
 * On a store's port, to the writer: the writes of one turn of the store's event loop, in
 * one message (a message costs more than a write), numbered in the order they were made.
 */
export type ToWriter = { writes: { id: number; request: WriteRequest }[] } | { bye: true };
export type Reply = { id: number; result: WriteResult } | { id: number; failure: WriteFailure };
/**
 * On a store's port, from the writer: the replies of one commit, and whether it wrote
 * events (which subscriptions then look for).
 */
export type FromWriter = { replies: Reply[]; committed: boolean };

/** To the writer thread itself. */
export type WriterControl =
  | { open: string; maxGroup: number; busyTimeoutMs: number }
  | { connect: MessagePort }
  | { autocheckpoint: number }
  | { close: true };
export type WriterReport = { opened: true } | { failed: string } | { closed: true };

export type SqliteWriter = {
  /** A new port to the writer, for one store (sqliteEventStore's `writer`); transferable. */
  connect(): MessagePort;
  /** Rejects when the writer thread failed for good. */
  failed: Promise<never>;
  /** Writes what it was given, closes the file, ends the thread: after its stores closed. */
  close(): Promise<void>;
};

/**
 * Starts the writer thread of the event store file at `path`, creating the file when absent;
 * rejects (NotAnEventStoreFile's message, say) when it cannot open it.
 */
export const startSqliteWriter = async (
  path: string,
  { maxGroup = 128, busyTimeoutMs = 5000 }: { maxGroup?: number; busyTimeoutMs?: number } = {},
): Promise<SqliteWriter> => {
  const worker = new Worker(new URL("./sqlite_writer_worker.ts", import.meta.url).href, {
    type: "module",
    name: "event store writer",
  });
  const send = (message: WriterControl, transfer: Transferable[] = []) =>
    worker.postMessage(message, transfer);
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => fail = reject);
  failed.catch(() => {});
  let report: (data: WriterReport) => void = () => {};
  worker.onmessage = ({ data }: MessageEvent<WriterReport>) => report(data);
  worker.onerror = (event) => {
    event.preventDefault();
    fail(new Error(`the event store's writer thread failed: ${event.message}`));
  };
  const next = () =>
    Promise.race([new Promise<WriterReport>((resolve) => report = resolve), failed]);
  send({ open: path, maxGroup, busyTimeoutMs });
  const opened = await next().catch((error: Error) => ({ failed: error.message }));
  if ("failed" in opened) {
    worker.terminate();
    throw new Error(opened.failed);
  }
  // The checkpoints are made from this thread's checkpoint worker (a worker started from
  // the writer thread takes a second to start), in place of the writer's commits.
  const checkpoints = checkpointInBackground(
    { autocheckpoint: (pages) => send({ autocheckpoint: pages }) },
    path,
  );
  let closing: Promise<void> | undefined;
  return {
    connect: () => {
      const { port1, port2 } = new MessageChannel();
      send({ connect: port1 }, [port1]);
      return port2;
    },
    failed,
    close: () =>
      closing ??= (async () => {
        await checkpoints.stop();
        send({ close: true });
        try {
          const closed = await next();
          if ("failed" in closed) throw new Error(closed.failed);
        } finally {
          worker.terminate();
        }
      })(),
  };
};

/**
 * A store's writes through `port`: each resolves (or fails, with the error the store would
 * have thrown itself) once the writer committed it. `committed` hears of every commit that
 * wrote events, from any store of the writer.
 */
export const writesThrough = (
  port: MessagePort,
  committed: () => void,
): EventStoreWrites & { pending(): Promise<void> | undefined; close(): void } => {
  let nextId = 0;
  const waiting = new Map<number, { resolve(result: WriteResult): void; reject(e: Error): void }>();
  let last: Promise<unknown> = Promise.resolve();
  let batch: { id: number; request: WriteRequest }[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;
  const send = () => {
    scheduled = undefined;
    port.postMessage({ writes: batch } satisfies ToWriter);
    batch = [];
  };
  port.onmessage = ({ data }: MessageEvent<FromWriter>) => {
    for (const reply of data.replies) {
      const writer = waiting.get(reply.id);
      waiting.delete(reply.id);
      if ("failure" in reply) writer?.reject(fromWriteFailure(reply.failure));
      else writer?.resolve(reply.result);
    }
    if (data.committed) committed();
  };
  return {
    write: (request) => {
      const id = nextId++;
      const written = new Promise<WriteResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
      });
      batch.push({ id, request });
      // After this turn's I/O callbacks, as the group commit does: the turn's writes go together.
      scheduled ??= setImmediate(send);
      last = written.catch(() => {});
      return written;
    },
    // The writer answers a port in the order it was written to: once the last write
    // settled, all of them have.
    pending: () => waiting.size === 0 ? undefined : last.then(() => {}),
    flush: () => {},
    close: () => {
      if (scheduled !== undefined) clearImmediate(scheduled);
      for (const { reject } of waiting.values()) reject(new Error("the event store is closed"));
      waiting.clear();
      port.postMessage({ bye: true } satisfies ToWriter);
      port.close();
    },
  };
};
