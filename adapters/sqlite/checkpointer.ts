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

type Reply = { path: string; error: string } | { closed: string };

let worker: Worker | null = null;
/** Each file checkpointed, with who hears of its failures. */
const open = new Map<string, (error: string) => void>();
const closing = new Map<string, () => void>();

const started = (): Worker => {
  if (worker) return worker;
  worker = new Worker(new URL("./checkpoint_worker.ts", import.meta.url).href, { type: "module" });
  worker.onmessage = ({ data }: MessageEvent<Reply>) => {
    if ("error" in data) open.get(data.path)?.(data.error);
    else closing.get(data.closed)?.();
  };
  return worker;
};

export type Checkpointer = { stop(): Promise<void> };

/**
 * Checkpoints `db` (a file in WAL mode, at `path`) from the worker every `intervalMs`
 * (default 200) instead of inside its commits, until stop(). `report` hears of a failed
 * checkpoint (the next one tries again).
 */
export const checkpointInBackground = (
  db: DatabaseSync,
  path: string,
  { intervalMs = 200, report }: { intervalMs?: number; report?: (error: string) => void } = {},
): Checkpointer => {
  if (path === ":memory:" || open.has(path)) return { stop: () => Promise.resolve() };
  started().postMessage({ open: path, intervalMs });
  open.set(path, report ?? (() => {}));
  db.exec("PRAGMA wal_autocheckpoint = 0");
  let stopped: Promise<void> | undefined;
  return {
    stop: () =>
      stopped ??= new Promise<void>((resolve) => {
        closing.set(path, resolve);
        worker!.postMessage({ close: path });
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
