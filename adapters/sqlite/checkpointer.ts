/**
 * WAL checkpoints off the event loop. SQLite copies its write-ahead log into the database
 * file once the log passes 1,000 pages, inside whichever commit crosses that line, with an
 * fsync of both files: a stall of several milliseconds for the whole process (node:sqlite
 * is synchronous), every few megabytes written. Instead, the connection turns the
 * automatic checkpoint off and a worker thread (checkpoint_worker.ts), one per process,
 * checkpoints each file from a connection of its own, PASSIVE (never in a writer's way).
 * What is durable when does not change: a checkpoint only moves committed pages.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/**
 * The connection that writes the file, whose own checkpoints in its commits are turned off
 * while the worker makes them (and back on should the worker fail): a DatabaseSync, or a
 * stand-in for one on another thread (eventstore/sqlite_writer.ts).
 */
export type FileWriter = DatabaseSync | { autocheckpoint(pages: number): void };

const AUTOCHECKPOINT_PAGES = 1000; // SQLite's default

const setAutocheckpoint = (writer: FileWriter, pages: number) => {
  if ("autocheckpoint" in writer) writer.autocheckpoint(pages);
  else if (writer.isOpen) writer.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
};

type Reply = { path: string; error: string } | { closed: string };

const WORKER = new URL("./checkpoint_worker.ts", import.meta.url);

let worker: Worker | null = null;
/** Each file checkpointed, with its connection and who hears of its failures. */
const open = new Map<string, { db: FileWriter; report: (error: string) => void }>();
const closing = new Map<string, () => void>();

/** A process that may not read the worker's module (a narrow --allow-read) checkpoints as SQLite does. */
const workerAllowed = () =>
  WORKER.protocol !== "file:" ||
  Deno.permissions.querySync({ name: "read", path: WORKER }).state === "granted";

const started = (): Worker => {
  if (worker) return worker;
  const current = worker = new Worker(WORKER.href, { type: "module" });
  current.onmessage = ({ data }: MessageEvent<Reply>) => {
    if ("error" in data) open.get(data.path)?.report(data.error);
    else closing.get(data.closed)?.();
  };
  // Should the worker fail, each connection goes back to checkpointing in its commits.
  current.onerror = (event) => {
    event.preventDefault();
    if (worker === current) worker = null;
    for (const [path, { db, report }] of open) {
      setAutocheckpoint(db, AUTOCHECKPOINT_PAGES);
      report(`the checkpoint worker failed: ${event.message}`);
      closing.get(path)?.();
    }
    open.clear();
  };
  return current;
};

export type Checkpointer = { stop(): Promise<void> };

/**
 * Checkpoints `db` (a file in WAL mode, at `path`) from the worker every `intervalMs`
 * (default 200) instead of inside its commits, until stop(). `report` hears of a failed
 * checkpoint (the next one tries again).
 */
export const checkpointInBackground = (
  db: FileWriter,
  path: string,
  { intervalMs = 200, report }: { intervalMs?: number; report?: (error: string) => void } = {},
): Checkpointer => {
  if (path === ":memory:" || open.has(path) || !workerAllowed()) {
    return { stop: () => Promise.resolve() };
  }
  started().postMessage({ open: path, intervalMs });
  open.set(path, { db, report: report ?? (() => {}) });
  setAutocheckpoint(db, 0);
  let stopped: Promise<void> | undefined;
  return {
    stop: () =>
      stopped ??= new Promise<void>((resolve) => {
        if (!open.has(path) || worker === null) return resolve(); // the worker failed
        closing.set(path, resolve);
        worker.postMessage({ close: path });
      }).then(() => {
        closing.delete(path);
        open.delete(path);
        if (open.size === 0) {
          worker?.terminate();
          worker = null;
        }
      }),
  };
};
