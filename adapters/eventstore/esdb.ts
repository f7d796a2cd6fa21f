/**
 * The EventStore port over EventStoreDB / KurrentDB (gRPC), for production and CI's
 * integration tests; the embedded default is ./sqlite.ts.
 *
 * Client: npm @eventstore/db-client 6.2.1 rather than its successor @kurrent/kurrentdb-client
 * 1.3.1. Both load and type-check under Deno 2.9.6, but the successor reads through a native
 * Rust addon (@kurrent/bridge, one binary per platform) that it loads at import: the apps
 * would need --allow-ffi, which lifts Deno's sandbox altogether, and a glibc/musl-matched
 * binary in every image. This one is plain JavaScript over @grpc/grpc-js, needs only
 * --allow-net and --allow-env, and speaks the same gRPC protocol to KurrentDB 25 servers.
 * Moving on later is mostly renames (EventStoreDBClient → KurrentDBClient, expectedRevision
 * → streamState).
 *
 * Checkpoints live in a stream per subscriber, `$nudges-checkpoint-<id>`, that keeps only its
 * last event (maxCount 1). The `$` keeps them out of $all reads and subscriptions, so they
 * never show up among the domain's events; on a secured server it means the app's user needs
 * write access to system streams (docs/eventstoredb.md).
 *
 * The client and its connection are in esdb_connection.ts; every write (events, checkpoints,
 * stream metadata) goes through esdb_append.ts, one gRPC call each, never the client's shared
 * batch stream.
 * @module
 */
import {
  ANY,
  BACKWARDS,
  END,
  excludeSystemEvents,
  jsonEvent,
  type ResolvedEvent,
  type StreamingRead,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import {
  type AppendResult,
  asRecorded,
  checkRevision,
  checkTruncation,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedRevision,
} from "../../application/ports/event_store.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import { appendEvents, AppendNotApplied, metastreamOf, setMetadata } from "./esdb_append.ts";
import { connect, esdbCalls } from "./esdb_connection.ts";
import {
  isSystemEvent,
  toEventData,
  toExpectedRevision,
  toPosition,
  toReadPosition,
  toRecordedEvent,
  toWrongExpectedRevision,
} from "./esdb_mapping.ts";
import { followAll } from "./esdb_subscription.ts";

export { EventStoreUnavailable } from "./esdb_connection.ts";

export type EsdbOptions = {
  /** Longest wait for one read or write before it fails (default 10 s). */
  timeoutMs?: number;
  /** A connection unused this long is closed by us before the next call (default 60 s). */
  recycleIdleMs?: number;
  logger?: Logger;
};

const CHECKPOINT_TYPE = "$nudges.checkpoint";
export const checkpointStream = (subscriberId: string) => `$nudges-checkpoint-${subscriberId}`;

export const esdbEventStore = (connectionString: string, options: EsdbOptions = {}): EventStore => {
  const { timeoutMs = 10_000, recycleIdleMs = 60_000, logger = silentLogger } = options;
  // Built now, so that a bad connection string stops the app at start.
  const { call, close: closeCalls } = esdbCalls(connectionString, { timeoutMs, recycleIdleMs });
  const closing = new AbortController();
  const subscriptions = new Set<Promise<void>>();

  /** Reads a whole (bounded) read into memory. */
  const drain = async (read: StreamingRead<ResolvedEvent>) => {
    const events: ResolvedEvent[] = [];
    for await (const event of read) events.push(event);
    return events;
  };

  const readStreamRaw = (what: string, streamId: string, lastOnly = false) =>
    call(what, async (client) => {
      try {
        return await drain(
          client.readStream(
            streamId,
            lastOnly ? { direction: BACKWARDS, fromRevision: END, maxCount: 1 } : {},
          ),
        );
      } catch (error) {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      }
    });

  const checkpointMetadataSet = new Set<string>();

  const store: EventStore = {
    async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision) {
      const expectedRevision = toExpectedRevision(expected);
      const data = events.map((event) => toEventData(event, crypto.randomUUID()));
      if (data.length === 0) {
        // The server would take an empty append without checking; the port checks anyway.
        const [last] = await readStreamRaw(`append to ${streamId}`, streamId, true);
        const current = last?.event ? Number(last.event.revision) : -1;
        checkRevision(streamId, expected, current);
        return { nextRevision: current, position: last ? toRecordedEvent(last).position : 0 };
      }
      try {
        const result = await call(
          `append to ${streamId}`,
          (client) => appendEvents(client, streamId, data, expectedRevision),
        );
        return {
          nextRevision: Number(result.revision),
          position: toPosition(result.commit),
        } satisfies AppendResult;
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          throw toWrongExpectedRevision(error, streamId, expected);
        }
        if (error instanceof AppendNotApplied) {
          const actual = error.actual < 0n ? "noStream" : Number(error.actual);
          throw new WrongExpectedRevision(streamId, expected, actual);
        }
        throw error;
      }
    },

    async readStream(streamId: string) {
      return asRecorded((await readStreamRaw(`read ${streamId}`, streamId)).map(toRecordedEvent));
    },

    /**
     * The stream's $tb ("truncate before") metadata, merged into what metadata it has and
     * never lowered. Reads then start at $tb with revisions as they were; the events stay in
     * $all until a scavenge. Checked against the last event first: a $tb past it would make
     * the stream read as empty, its revision unknowable to this client (it drops the
     * server's last_stream_position).
     */
    async truncateBefore(streamId: string, revision: number) {
      const [last] = await readStreamRaw(`truncate ${streamId}`, streamId, true);
      checkTruncation(streamId, revision, last?.event ? Number(last.event.revision) : -1);
      const metastream = metastreamOf(streamId);
      const [current] = await readStreamRaw(`read ${metastream}`, metastream, true);
      const metadata = (current?.event?.data ?? {}) as Record<string, unknown>;
      const before = typeof metadata.$tb === "number" ? metadata.$tb : 0;
      if (revision <= before) return;
      await call(
        `truncate ${streamId}`,
        (client) => setMetadata(client, streamId, { ...metadata, $tb: revision }),
      );
    },

    async readAll({ after = 0, limit = 1000 } = {}) {
      let from = toReadPosition(after);
      let skipUpTo = BigInt(after);
      const out: RecordedEvent[] = [];
      // $all holds the server's own events too: read on past them until `limit` are found.
      while (out.length < limit) {
        // +1: a read from a position includes that event; at least a screenful, so a long
        // run of system events is passed in few round trips.
        const want = Math.max(limit - out.length + 1, 100);
        const page = await call(
          "read $all",
          (client) => drain(client.readAll({ fromPosition: from, maxCount: want })),
        );
        let last: bigint | undefined;
        for (const resolved of page) {
          const { event } = resolved;
          last = event?.position?.commit ?? resolved.commitPosition;
          if (!event || last === undefined || last <= skipUpTo) continue;
          if (isSystemEvent(event.streamId, event.type)) continue;
          out.push(toRecordedEvent(resolved));
          if (out.length === limit) break;
        }
        if (page.length < want || last === undefined) break;
        from = { commit: last, prepare: last };
        skipUpTo = last;
      }
      return asRecorded(out);
    },

    subscribeAll(subscribe) {
      const signal = AbortSignal.any([subscribe.signal, closing.signal]);
      const subscription = followAll({
        connect: () => {
          const { client, release } = connect(connectionString);
          return {
            subscribe: (after) =>
              client.subscribeToAll({
                fromPosition: toReadPosition(after),
                filter: excludeSystemEvents(),
              }),
            close: release,
          };
        },
        readCheckpoint: store.readCheckpoint,
        storeCheckpoint: store.storeCheckpoint,
        logger,
      }, { ...subscribe, signal });
      const settled = subscription.done.catch(() => {}).finally(() =>
        subscriptions.delete(settled)
      );
      subscriptions.add(settled);
      return subscription;
    },

    async readCheckpoint(subscriberId: string) {
      const [last] = await readStreamRaw(
        `read checkpoint ${subscriberId}`,
        checkpointStream(subscriberId),
        true,
      );
      const position = (last?.event?.data as { position?: unknown } | undefined)?.position;
      return typeof position === "number" ? position : 0;
    },

    async storeCheckpoint(subscriberId: string, position: number) {
      toReadPosition(position); // refuses what is not a position
      const stream = checkpointStream(subscriberId);
      if (!checkpointMetadataSet.has(stream)) {
        await call(`set ${stream} metadata`, (c) => setMetadata(c, stream, { $maxCount: 1 }));
        checkpointMetadataSet.add(stream);
      }
      await call(
        `store checkpoint ${subscriberId}`,
        (client) =>
          appendEvents(client, stream, [
            jsonEvent({ type: CHECKPOINT_TYPE, data: { position } }),
          ], ANY),
      );
    },

    /** Stops the subscriptions (they store their checkpoints), then lets the connection go. */
    async close() {
      closing.abort();
      await Promise.all(subscriptions);
      await closeCalls();
    },
  };
  return store;
};
