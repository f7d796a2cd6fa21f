/**
 * Every write to the event store's SQLite file, on the one connection that makes them:
 * appends (revision check, then insert), stored checkpoints and truncations, all through one
 * group commit (sqlite_group_commit.ts). sqlite.ts runs it on the caller's thread, or a
 * writer thread does for every store of the process (sqlite_writer.ts). Requests are plain
 * data, so that they can cross to that thread; a failure crosses back as a WriteFailure.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import {
  type AppendResult,
  checkRevision,
  checkTruncation,
  type ExpectedRevision,
  WrongExpectedRevision,
} from "../../application/ports/event_store.ts";
import { groupCommit } from "./sqlite_group_commit.ts";

/** One write, its events already JSON and stamped: a value JSON cannot hold never gets here. */
export type WriteRequest =
  | {
    kind: "append";
    streamId: string;
    rows: (readonly [type: string, data: string, metadata: string])[];
    expected: ExpectedRevision;
    durable: boolean;
    recordedAt: string;
  }
  | { kind: "checkpoint"; subscriberId: string; position: number }
  | { kind: "truncate"; streamId: string; revision: number };

export type WriteResult = AppendResult | undefined;

export type EventStoreWrites = {
  /** Resolves once the transaction holding it committed. */
  write(request: WriteRequest): Promise<WriteResult>;
  /** Writes everything queued now, synchronously. */
  flush(): void;
};

/**
 * The group commit of `db`'s writes; `committed` is told after each commit that wrote
 * events (subscriptions look for them then).
 */
export const eventStoreWrites = (
  db: DatabaseSync,
  { maxGroup, committed }: { maxGroup: number; committed: () => void },
): EventStoreWrites => {
  const statements = {
    head: db.prepare("SELECT max(revision) AS revision FROM events WHERE stream_id = ?"),
    lastPosition: db.prepare("SELECT max(position) AS position FROM events"),
    insert: db.prepare(
      "INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
    ),
    truncate: db.prepare("DELETE FROM events WHERE stream_id = ? AND revision < ?"),
    storeCheckpoint: db.prepare(
      "INSERT INTO checkpoints (subscriber_id, position) VALUES (?, ?) " +
        "ON CONFLICT (subscriber_id) DO UPDATE SET position = excluded.position",
    ),
  };
  const headOf = (streamId: string) =>
    (statements.head.get(streamId) as { revision: number | null }).revision ?? -1;

  /** Runs inside the group's transaction, which holds the write lock: check, then write. */
  const write = (request: WriteRequest): WriteResult => {
    switch (request.kind) {
      case "append": {
        const { streamId, rows, expected, recordedAt } = request;
        let revision = headOf(streamId);
        checkRevision(streamId, expected, revision);
        let position = 0;
        for (const [type, data, metadata] of rows) {
          revision++;
          position = Number(
            statements.insert.run(streamId, revision, type, data, metadata, recordedAt)
              .lastInsertRowid,
          );
        }
        if (rows.length === 0) {
          position = Number(
            (statements.lastPosition.get() as { position: number | null }).position,
          );
        }
        return { nextRevision: revision, position };
      }
      case "checkpoint":
        statements.storeCheckpoint.run(request.subscriberId, request.position);
        return undefined;
      case "truncate":
        checkTruncation(request.streamId, request.revision, headOf(request.streamId));
        // Deleted, so the file stops growing too. The stream's last event stays, so the
        // table's highest position stays and no position is ever handed out twice (the
        // INTEGER PRIMARY KEY takes the highest + 1). Revisions only grow, so the check
        // above still holds when another process appended in between.
        statements.truncate.run(request.streamId, request.revision);
        return undefined;
      default: {
        const unknown: never = request;
        throw new TypeError(`unknown write ${JSON.stringify(unknown)}`);
      }
    }
  };

  const writer = groupCommit(db, {
    write,
    durable: (request) => request.kind === "append" && request.durable,
    maxGroup,
    committed: (requests) => {
      if (requests.some((request) => request.kind === "append" && request.rows.length > 0)) {
        committed();
      }
    },
  });
  return { write: writer.enqueue, flush: writer.flush };
};

/** A failed write as it crosses between threads (an Error's class does not). */
export type WriteFailure = {
  name: string;
  message: string;
  revision?: { streamId: string; expected: ExpectedRevision; actual: number | "noStream" };
};

export const toWriteFailure = (error: unknown): WriteFailure => {
  if (error instanceof WrongExpectedRevision) {
    const { name, message, streamId, expected, actual } = error;
    return { name, message, revision: { streamId, expected, actual } };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
};

/** The error a caller on the other thread gets: of the class it would get from its own thread. */
export const fromWriteFailure = ({ name, message, revision }: WriteFailure): Error => {
  if (revision) {
    return new WrongExpectedRevision(revision.streamId, revision.expected, revision.actual);
  }
  const error = name === "RangeError"
    ? new RangeError(message)
    : name === "TypeError"
    ? new TypeError(message)
    : new Error(message);
  if (error.name !== name) error.name = name;
  return error;
};
