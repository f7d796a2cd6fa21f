/**
 * Group commit for a node:sqlite connection. A commit costs far more than the writes in it
 * (locking, WAL frames, the commit record), so writes queued in the same turn of the event
 * loop are written together: one BEGIN IMMEDIATE … COMMIT, each write in a SAVEPOINT of its
 * own so that a failing write is undone alone and fails alone. Every write's promise
 * settles only after the COMMIT (or the failure) of its group, so "resolved" still means
 * "durable". node:sqlite is synchronous: nothing can queue while a group is being written,
 * so the group is what queued before the flush, which runs from setImmediate (after the
 * I/O callbacks of the current turn, about a microsecond for a lone write; a zero
 * setTimeout would wait a millisecond or more) or at once when `maxGroup` writes wait.
 * A group holding a durable write commits with synchronous=FULL (the connection's level is
 * NORMAL otherwise): SQLite then syncs the WAL to disk before COMMIT returns, so that write,
 * and every commit before it, survives a power loss too; the writes made with it share the sync.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { clearImmediate, setImmediate } from "node:timers";

export type GroupCommitOptions<T, R> = {
  /** Writes one item inside the open transaction; throws to fail that item alone. */
  write: (item: T) => R;
  /** Flush at once when this many writes wait; 1 writes each in its own transaction. */
  maxGroup: number;
  /** True for a write that must survive a power loss before it resolves. */
  durable?: (item: T) => boolean;
  /** Called after a COMMIT with the items it made durable (not called when none were). */
  committed: (items: T[]) => void;
};

type Queued<T, R> = {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
};

type Outcome<R> = { ok: true; result: R } | { ok: false; error: unknown };

/** Each item's outcome once committed, or the failed item that leaves nothing to commit. */
type Attempt<R> = { outcomes: Outcome<R>[] } | { failed: number; error: unknown };

export type GroupCommit<T, R> = {
  /** Queues `item`; resolves with its result once the transaction holding it committed. */
  enqueue(item: T): Promise<R>;
  /** Writes everything queued now, synchronously (before a read, or before closing). */
  flush(): void;
};

export const groupCommit = <T, R>(
  db: DatabaseSync,
  { write, maxGroup, committed, durable }: GroupCommitOptions<T, R>,
): GroupCommit<T, R> => {
  const statements = {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT item"),
    release: db.prepare("RELEASE item"),
    rollbackTo: db.prepare("ROLLBACK TO item"),
  };
  let queue: Queued<T, R>[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;

  /** Ends the open transaction, if any. Failing, it leaves a broken connection to the next BEGIN. */
  const rollback = () => {
    try {
      if (db.isTransaction) statements.rollback.run();
    } catch {
      // The error that matters is the one that led here; the items get that one.
    }
  };

  /**
   * Writes `group` in one transaction. Some errors end the whole transaction, not just the
   * statement (SQLite rolls back on a full disk, say, and on RAISE(ROLLBACK) in a trigger):
   * then the items before it were undone too and must be written again.
   */
  const attempt = (group: Queued<T, R>[]): Attempt<R> => {
    statements.begin.run();
    // A lone item needs no savepoint: the transaction is its own (a tenth of its cost).
    const alone = group.length === 1;
    const outcomes: Outcome<R>[] = [];
    for (const [index, { item }] of group.entries()) {
      if (!alone) statements.savepoint.run();
      try {
        outcomes.push({ ok: true, result: write(item) });
        if (!alone) statements.release.run();
      } catch (error) {
        if (alone || !db.isTransaction) return { failed: index, error };
        statements.rollbackTo.run();
        statements.release.run();
        outcomes.push({ ok: false, error });
      }
    }
    statements.commit.run();
    return { outcomes };
  };

  const writeGroup = (group: Queued<T, R>[]) => {
    // Through exec, each time: SQLite applies this pragma when it compiles it, so a prepared
    // statement would not apply it again when run again.
    const full = durable !== undefined && group.some((queued) => durable(queued.item));
    if (!full) return writeAttempts(group);
    db.exec("PRAGMA synchronous = FULL");
    try {
      writeAttempts(group);
    } finally {
      // SQLite refuses it inside a transaction; one left open (a failed ROLLBACK) ends at the
      // next BEGIN's failure, and the level stays FULL meanwhile: slower, never less safe.
      if (!db.isTransaction) db.exec("PRAGMA synchronous = NORMAL");
    }
  };

  const writeAttempts = (group: Queued<T, R>[]) => {
    for (;;) {
      let attempted: Attempt<R>;
      try {
        attempted = attempt(group);
      } catch (error) {
        // BEGIN (the lock not had within the busy timeout) or COMMIT failed: none is durable.
        rollback();
        for (const queued of group) queued.reject(error);
        return;
      }
      if ("failed" in attempted) {
        rollback();
        group.splice(attempted.failed, 1)[0]!.reject(attempted.error);
        if (group.length === 0) return;
        continue;
      }
      const written: T[] = [];
      for (const [index, queued] of group.entries()) {
        const outcome = attempted.outcomes[index]!;
        if (outcome.ok) {
          written.push(queued.item);
          queued.resolve(outcome.result);
        } else queued.reject(outcome.error);
      }
      if (written.length > 0) committed(written);
      return;
    }
  };

  const flush = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    while (queue.length > 0) {
      const group = queue.length <= maxGroup ? queue : queue.slice(0, maxGroup);
      queue = queue.length <= maxGroup ? [] : queue.slice(maxGroup);
      writeGroup(group);
    }
  };

  return {
    enqueue: (item) =>
      new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (queue.length >= maxGroup) flush();
        else scheduled ??= setImmediate(flush);
      }),
    flush,
  };
};
