/**
 * The worker behind checkpointer.ts: a connection of its own to each SQLite file it is
 * given, copying the WAL into the database (PRAGMA wal_checkpoint(PASSIVE)) every
 * `intervalMs`, so that neither the copy nor its fsyncs run on the main thread.
 * @module
 */
import { DatabaseSync } from "node:sqlite";

type Request = { open: string; intervalMs: number } | { close: string };

const files = new Map<string, { db: DatabaseSync; timer: ReturnType<typeof setInterval> }>();

const worker = self as unknown as {
  onmessage: (event: MessageEvent<Request>) => void;
  postMessage(message: unknown): void;
};

worker.onmessage = ({ data }) => {
  if ("open" in data) {
    if (files.has(data.open)) return;
    let db: DatabaseSync;
    try {
      // Closed (and its folder removed) before this came: nothing to do, and no file to make.
      Deno.statSync(data.open);
      db = new DatabaseSync(data.open);
      db.exec("PRAGMA busy_timeout = 5000");
    } catch (error) {
      worker.postMessage({ path: data.open, error: String(error) });
      return;
    }
    const checkpoint = () => {
      try {
        db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      } catch (error) {
        worker.postMessage({ path: data.open, error: String(error) });
      }
    };
    files.set(data.open, { db, timer: setInterval(checkpoint, data.intervalMs) });
  } else {
    const file = files.get(data.close);
    if (file) {
      clearInterval(file.timer);
      files.delete(data.close);
      try {
        // The last connection to close copies what is left and removes the WAL.
        file.db.close();
      } catch {
        // The file may be gone already (a test's temporary folder): nothing left to copy.
      }
    }
    // Answered even for a file it never opened: its stop() waits for this.
    worker.postMessage({ closed: data.close });
  }
};
