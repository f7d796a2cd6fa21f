/**
 * Durable commits without holding the event loop, for the SQLite bus file. node:sqlite is
 * synchronous: with synchronous=FULL each commit's fsync stops the whole process (the
 * webhook endpoint, the API, every consumer) for as long as the disk takes, about 0.3 to
 * 2 ms here. So the bus commits with synchronous=NORMAL, which writes the WAL without
 * syncing it, and `sync()` fdatasyncs the WAL file on Deno's I/O threads: when it
 * resolves, every transaction committed before the call is on disk, which is what FULL
 * promises at each commit. Calls made while a sync runs share the next one (group
 * commit). SQLite syncs the WAL itself before a checkpoint copies it into the database.
 * @module
 */

export type WalSync = {
  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void>;
  close(): void;
};

/** For the database file at `path` (":memory:": nothing to sync). */
export const walSync = (path: string): WalSync => {
  if (path === ":memory:") return { sync: () => Promise.resolve(), close: () => {} };
  let wal: Deno.FsFile | undefined;
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const once = async () => {
    // Opened on first use: the WAL exists from the first write on, and stays while the
    // connection is open (SQLite truncates it, never replaces it).
    wal ??= await Deno.open(`${path}-wal`, { read: true });
    await wal.syncData();
  };
  const sync = (): Promise<void> => {
    if (running === null) {
      running = once().finally(() => running = null);
      return running;
    }
    // The sync running may have started before the caller's commit: wait for the next.
    return next ??= running.catch(() => {}).then(() => {
      next = null;
      return sync();
    });
  };
  return {
    sync,
    close: () => {
      wal?.close();
      wal = undefined;
    },
  };
};
