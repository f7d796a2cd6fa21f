/**
 * EventStore over one SQLite file (node:sqlite). WAL lets readers run beside the one
 * writer; BEGIN IMMEDIATE takes the write lock before the revision check, so the check and
 * the insert are one atomic step even when other processes share the file (they wait up to
 * the busy timeout; node:sqlite is synchronous, so that wait holds this process's event loop,
 * which is fine while every write transaction lasts microseconds). synchronous=NORMAL in WAL:
 * a committed append survives a crash of the process; only a power loss or OS crash can
 * drop the last commits, and never corrupts the file. An append made `durable` (the webhook's
 * record: Stripe, answered 200, never sends the event again) survives those too: its
 * transaction commits with synchronous=FULL, which syncs the WAL to disk before the append
 * resolves (and with it every commit before). Not every append pays that sync: it costs a
 * fifth of a millisecond to 2 ms per transaction here, 4 to 35 times a lone append;
 * docs/architecture.md weighs what a power loss may drop instead. Appends made in the same
 * turn of the event loop share one transaction (sqlite_group_commit.ts), each in a savepoint
 * of its own, in the order they were called; each resolves only once that transaction
 * committed, so durable ones share one sync.
 * The file itself (its inspection, schema and settings) is opened by sqlite_file.ts.
 * @module
 */
import type { SQLInputValue, StatementSync } from "node:sqlite";
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
  type Subscription,
} from "../../application/ports/event_store.ts";
import { type Clock, systemClock } from "../../application/ports/clock.ts";
import { asRecorded, checkRevision, checkTruncation } from "../../application/ports/event_store.ts";
import { checkpointInBackground } from "../sqlite/checkpointer.ts";
import { pollingSubscription } from "./polling_subscription.ts";
import { groupCommit } from "./sqlite_group_commit.ts";
import { openEventStoreFile } from "./sqlite_file.ts";

export { APPLICATION_ID, NotAnEventStoreFile, SCHEMA_VERSION } from "./sqlite_file.ts";

export type SqliteEventStoreOptions = {
  clock?: Clock;
  /** How long to wait for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
  /** How often a caught-up subscription looks for appends made by other processes (ms). */
  pollMs?: number;
  /**
   * At most this many appends share a transaction (more wait for the next one); 1 gives each
   * append a transaction of its own.
   */
  maxGroup?: number;
  /**
   * Told after each commit that wrote events: a store on the same file in another thread
   * (apps/dev/consumers.ts) can then be poked, instead of waiting for its next poll.
   */
  onCommit?: () => void;
};

/** The SQLite store, and a way to wake its subscriptions for an append made elsewhere. */
export type SqliteEventStore = EventStore & {
  /** Subscriptions look for new events now, as after an append of this instance. */
  poke(): void;
};

/** An append waiting for its transaction, its events already turned into JSON. */
type QueuedAppend = {
  streamId: string;
  rows: (readonly [type: string, data: string, metadata: string])[];
  expected: ExpectedRevision;
  durable: boolean;
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
  { clock = systemClock, busyTimeoutMs = 5000, pollMs = 50, maxGroup = 128, onCommit }:
    SqliteEventStoreOptions = {},
): SqliteEventStore => {
  if (!Number.isInteger(maxGroup) || maxGroup < 1) {
    throw new RangeError(`maxGroup must be a whole number of appends, 1 or more; got ${maxGroup}`);
  }
  const db = openEventStoreFile(path, busyTimeoutMs);
  // The WAL is copied into the file by a worker, not inside an append (its fsyncs would
  // hold the event loop): sqlite/checkpointer.ts.
  const checkpoints = checkpointInBackground(db, path);

  const statements = {
    head: db.prepare("SELECT max(revision) AS revision FROM events WHERE stream_id = ?"),
    lastPosition: db.prepare("SELECT max(position) AS position FROM events"),
    insert: db.prepare(
      "INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
    ),
    stream: db.prepare(`SELECT ${COLUMNS} FROM events WHERE stream_id = ? ORDER BY revision`),
    truncate: db.prepare("DELETE FROM events WHERE stream_id = ? AND revision < ?"),
    all: db.prepare(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
    readCheckpoint: db.prepare("SELECT position FROM checkpoints WHERE subscriber_id = ?"),
    storeCheckpoint: db.prepare(
      "INSERT INTO checkpoints (subscriber_id, position) VALUES (?, ?) " +
        "ON CONFLICT (subscriber_id) DO UPDATE SET position = excluded.position",
    ),
  } satisfies Record<string, StatementSync>;
  const readStream = rowsOf(statements.stream);
  const readAll = rowsOf(statements.all);

  const listeners = new Set<() => void>();
  // Closing stops this instance's subscriptions first, so none touches a closed database.
  const closing = new AbortController();
  const subscriptions = new Set<Promise<void>>();
  let closed = false;
  let dbClosed = false;

  /** Runs inside the group's transaction, which holds the write lock: check, then insert. */
  const write = ({ streamId, rows, expected }: QueuedAppend): AppendResult => {
    const head = statements.head.get(streamId) as { revision: number | null };
    const current = head.revision ?? -1;
    checkRevision(streamId, expected, current);
    let revision = current;
    let position = 0;
    const recordedAt = clock();
    for (const [type, data, metadata] of rows) {
      revision++;
      position = Number(
        statements.insert.run(streamId, revision, type, data, metadata, recordedAt)
          .lastInsertRowid,
      );
    }
    if (rows.length === 0) {
      position = Number((statements.lastPosition.get() as { position: number | null }).position);
    }
    return { nextRevision: revision, position };
  };
  const writer = groupCommit(db, {
    write,
    durable: (queued) => queued.durable,
    maxGroup,
    committed: (appends) => {
      if (!appends.some((queued) => queued.rows.length > 0)) return;
      listeners.forEach((wake) => wake());
      onCommit?.();
    },
  });
  /** Reads and checkpoints come after the appends called before them, as they always did. */
  const afterAppends = <T>(work: () => T): Promise<T> =>
    settle(() => {
      writer.flush();
      return work();
    });

  const store: EventStore = {
    append: (streamId, events, expected, { durable = false } = {}) => {
      if (dbClosed) return Promise.reject(new Error("the event store is closed"));
      let rows: QueuedAppend["rows"];
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
      return writer.enqueue({ streamId, rows, expected, durable });
    },
    readStream: (streamId) => afterAppends(() => asRecorded(readStream(streamId).map(toRecorded))),
    truncateBefore: (streamId, revision) =>
      afterAppends(() => {
        const head = statements.head.get(streamId) as { revision: number | null };
        checkTruncation(streamId, revision, head.revision ?? -1);
        // Deleted, so the file stops growing too. The stream's last event stays, so the
        // table's highest position stays and no position is ever handed out twice (the
        // INTEGER PRIMARY KEY takes the highest + 1). Revisions only grow, so the check
        // above still holds when another process appended in between.
        statements.truncate.run(streamId, revision);
      }),
    readAll: ({ after = 0, limit = 1000 } = {}) =>
      afterAppends(() => asRecorded(readAll(after, limit).map(toRecorded))),
    readCheckpoint: (id) =>
      afterAppends(() => {
        const row = statements.readCheckpoint.get(id) as { position: number } | undefined;
        return row?.position ?? 0;
      }),
    storeCheckpoint: (id, position) =>
      afterAppends(() => {
        statements.storeCheckpoint.run(id, position);
      }),
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
      // Appends made until now still settle: they are written, or fail, before the close.
      writer.flush();
      dbClosed = true;
      // Not awaited: close() settles the appends before it in the same turn, as it always did.
      void checkpoints.stop();
      db.close();
    },
  };
  return Object.assign(store, { poke: () => listeners.forEach((wake) => wake()) });
};
