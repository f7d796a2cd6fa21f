/**
 * EventStore over one SQLite file (node:sqlite). WAL lets readers run beside the one
 * writer; BEGIN IMMEDIATE takes the write lock before the revision check, so the check and
 * the insert are one atomic step even when other processes share the file (they wait up to
 * the busy timeout; node:sqlite is synchronous, so that wait holds the writing thread's
 * event loop, which is fine while every write transaction lasts microseconds). synchronous=NORMAL in WAL:
 * a committed append survives a crash of the process; only a power loss or OS crash can
 * drop the last commits, and never corrupts the file. An append made `durable` (the webhook's
 * record: Stripe, answered 200, never sends the event again) survives those too: its
 * transaction commits with synchronous=FULL, which syncs the WAL to disk before the append
 * resolves (and with it every commit before). Not every append pays that sync: it costs a
 * fifth of a millisecond to 2 ms per transaction here, 4 to 35 times a lone append;
 * docs/architecture.md weighs what a power loss may drop instead. Writes made in the same
 * turn of the event loop share one transaction (sqlite_writes.ts), each in a savepoint
 * of its own, in the order they were called; each resolves only once that transaction
 * committed, so durable ones share one sync. Given a `writer` (sqlite_writer.ts), a store
 * writes through that thread instead, and only reads on its own connection.
 * The file itself (its inspection, schema and settings) is opened by sqlite_file.ts.
 * @module
 */
import type { SQLInputValue, StatementSync } from "node:sqlite";
import {
  asRecorded,
  type EventStore,
  type RecordedEvent,
  type Subscription,
} from "../../application/ports/event_store.ts";
import { type Clock, systemClock } from "../../application/ports/clock.ts";
import { checkpointInBackground } from "../sqlite/checkpointer.ts";
import { pollingSubscription } from "./polling_subscription.ts";
import { openEventStoreFile } from "./sqlite_file.ts";
import { writesThrough } from "./sqlite_writer.ts";
import { eventStoreWrites, type WriteRequest, type WriteResult } from "./sqlite_writes.ts";

export { APPLICATION_ID, NotAnEventStoreFile, SCHEMA_VERSION } from "./sqlite_file.ts";

export type SqliteEventStoreOptions = {
  clock?: Clock;
  /** How long to wait for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
  /** How often a caught-up subscription looks for appends made by other processes (ms). */
  pollMs?: number;
  /**
   * At most this many appends share a transaction (more wait for the next one); 1 gives each
   * append a transaction of its own. Without a writer only: the writer thread has its own.
   */
  maxGroup?: number;
  /**
   * A port to the file's writer thread (sqlite_writer.ts): every write goes through it, and
   * every commit it makes, for any of its stores, wakes this store's subscriptions.
   */
  writer?: MessagePort;
};

// Rows come back as arrays, in COLUMNS order: a fifth faster to read than objects.
type Row = [
  position: number,
  streamId: string,
  revision: number,
  type: string,
  data: string,
  metadata: string,
  recordedAt: string,
];

const COLUMNS = "position, stream_id, revision, type, data, metadata, recorded_at";

const toRecorded = (
  [position, streamId, revision, type, data, metadata, recordedAt]: Row,
): RecordedEvent => ({
  streamId,
  revision,
  position,
  type,
  data: JSON.parse(data),
  metadata: JSON.parse(metadata),
  recordedAt,
});

/** A query of events, returning Rows. */
const rowsOf = (statement: StatementSync) => {
  statement.setReturnArrays(true);
  return (...params: SQLInputValue[]) => statement.all(...params) as unknown as Row[];
};

/** The port is asynchronous: a failure is a rejected promise, never a synchronous throw. */
const settle = <T>(work: () => T): Promise<T> => {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
};

/**
 * Opens the event store in the SQLite file at `path`, creating the file (and its folder)
 * when absent. Throws NotAnEventStoreFile, without touching the file, when it holds
 * anything else.
 */
export const sqliteEventStore = (
  path: string,
  { clock = systemClock, busyTimeoutMs = 5000, pollMs = 50, maxGroup = 128, writer }:
    SqliteEventStoreOptions = {},
): EventStore => {
  if (!Number.isInteger(maxGroup) || maxGroup < 1) {
    throw new RangeError(`maxGroup must be a whole number of appends, 1 or more; got ${maxGroup}`);
  }
  const db = openEventStoreFile(path, busyTimeoutMs);

  const statements = {
    stream: db.prepare(`SELECT ${COLUMNS} FROM events WHERE stream_id = ? ORDER BY revision`),
    all: db.prepare(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
    readCheckpoint: db.prepare("SELECT position FROM checkpoints WHERE subscriber_id = ?"),
  } satisfies Record<string, StatementSync>;
  const readStream = rowsOf(statements.stream);
  const readAll = rowsOf(statements.all);

  const listeners = new Set<() => void>();
  const wake = () => listeners.forEach((listener) => listener());
  // Closing stops this instance's subscriptions first, so none touches a closed database.
  const closing = new AbortController();
  const subscriptions = new Set<Promise<void>>();
  let closed = false;
  let dbClosed = false;

  const writes = writer ? writesThrough(writer, wake) : ownWrites();
  function ownWrites() {
    // The WAL is copied into the file by a worker, not inside an append (its fsyncs would
    // hold the event loop): sqlite/checkpointer.ts.
    const checkpoints = checkpointInBackground(db, path);
    const own = eventStoreWrites(db, { maxGroup, committed: wake });
    return {
      ...own,
      // Written at once, synchronously: a read after a write sees it.
      pending: (): Promise<void> | undefined => {
        own.flush();
        return undefined;
      },
      // Stopped, not yet awaited: the caller closes its connection in the same turn.
      close: (): Promise<void> => checkpoints.stop(),
    };
  }
  const write = (request: WriteRequest): Promise<WriteResult> =>
    dbClosed ? Promise.reject(new Error("the event store is closed")) : writes.write(request);
  /** Reads come after the writes called before them, as they always did. */
  const afterWrites = <T>(work: () => T): Promise<T> => {
    const pending = writes.pending();
    return pending ? pending.then(() => settle(work)) : settle(work);
  };

  const store: EventStore = {
    append: (streamId, events, expected, { durable = false } = {}) => {
      let rows: Extract<WriteRequest, { kind: "append" }>["rows"];
      try {
        // Serialised now: a value JSON cannot hold fails this append alone, before it queues,
        // and a caller changing its events afterwards changes nothing.
        rows = events.map((event) => [
          event.type,
          JSON.stringify(event.data ?? null),
          JSON.stringify(event.metadata),
        ]);
      } catch (error) {
        return Promise.reject(error);
      }
      const recordedAt = clock();
      return write({ kind: "append", streamId, rows, expected, durable, recordedAt }).then(
        (result) => {
          // An append's write always answers with one (sqlite_writes.ts); checked, not cast.
          if (result === undefined) throw new Error(`no result for the append to ${streamId}`);
          return result;
        },
      );
    },
    readStream: (streamId) => afterWrites(() => asRecorded(readStream(streamId).map(toRecorded))),
    truncateBefore: (streamId, revision) =>
      write({ kind: "truncate", streamId, revision }).then(() => {}),
    readAll: ({ after = 0, limit = 1000 } = {}) =>
      afterWrites(() => asRecorded(readAll(after, limit).map(toRecorded))),
    readCheckpoint: (id) =>
      afterWrites(() => {
        const row = statements.readCheckpoint.get(id) as { position: number } | undefined;
        return row?.position ?? 0;
      }),
    storeCheckpoint: (subscriberId, position) =>
      write({ kind: "checkpoint", subscriberId, position }).then(() => {}),
    subscribeAll: (options): Subscription => {
      const signal = AbortSignal.any([options.signal, closing.signal]);
      const subscription = pollingSubscription(store, { ...options, signal }, (wake) => {
        listeners.add(wake);
        return () => listeners.delete(wake);
      }, pollMs);
      const settled = subscription.done.catch(() => {});
      subscriptions.add(settled);
      settled.finally(() => subscriptions.delete(settled));
      return subscription;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      closing.abort();
      await Promise.all(subscriptions);
      // Writes made until now still settle: they are written, or fail, before the close.
      const pending = writes.pending();
      dbClosed = true;
      if (pending) await pending;
      const stopped = writes.close();
      db.close();
      // Until the checkpoint worker let go of the file too: a caller may remove it next.
      await stopped;
    },
  };
  return store;
};
