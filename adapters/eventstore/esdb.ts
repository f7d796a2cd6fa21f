// The EventStore port over EventStoreDB / KurrentDB (gRPC), for production and CI's
// integration tests; the embedded default is ./sqlite.ts.
//
// Client: npm @eventstore/db-client 6.2.1 rather than its successor @kurrent/kurrentdb-client
// 1.3.1. Both load and type-check under Deno 2.9.6, but the successor reads through a native
// Rust addon (@kurrent/bridge, one binary per platform) that it loads at import: the apps
// would need --allow-ffi, which lifts Deno's sandbox altogether, and a glibc/musl-matched
// binary in every image. This one is plain JavaScript over @grpc/grpc-js, needs only
// --allow-net and --allow-env, and speaks the same gRPC protocol to KurrentDB 25 servers.
// Moving on later is mostly renames (EventStoreDBClient → KurrentDBClient, expectedRevision
// → streamState).
//
// Checkpoints live in a stream per subscriber, `$nudges-checkpoint-<id>`, that keeps only its
// last event (maxCount 1). The `$` keeps them out of $all reads and subscriptions, so they
// never show up among the domain's events; on a secured server it means the app's user needs
// write access to system streams (docs/eventstoredb.md).
import {
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  excludeSystemEvents,
  jsonEvent,
  type ResolvedEvent,
  type StreamingRead,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from "../../application/ports/event_store.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import {
  clientConnectionString,
  endpointsOf,
  EventStoreConnectionStringError,
  isSystemEvent,
  toEventData,
  toExpectedRevision,
  toPosition,
  toReadPosition,
  toRecordedEvent,
  toWrongExpectedRevision,
} from "./esdb_mapping.ts";
import { followAll } from "./esdb_subscription.ts";
import { checkRevision } from "./memory.ts";

export type EsdbOptions = {
  /** Longest wait for one read or write before it fails (default 10 s). */
  timeoutMs?: number;
  /** A connection unused this long is closed by us before the next call (default 60 s). */
  recycleIdleMs?: number;
  logger?: Logger;
};

/** EventStoreDB could not be reached or did not answer; says where, never with credentials. */
export class EventStoreUnavailable extends Error {
  override name = "EventStoreUnavailable";
}

const CHECKPOINT_TYPE = "$nudges.checkpoint";
export const checkpointStream = (subscriberId: string) => `$nudges-checkpoint-${subscriberId}`;

/** A client and how to let it go entirely. */
type Connection = { client: EventStoreDBClient; release(): Promise<void> };

/**
 * A client for the string; a parse error is told by position and never echoes the string.
 * The client's dispose() cancels its calls but leaves its gRPC channel (the HTTP/2 session
 * and its keepalive timer) open, so the channels it makes are recorded and closed on
 * release. That reaches into the client's createChannel: checked against 6.2.1, pinned.
 */
const connect = (connectionString: string): Connection => {
  const text = clientConnectionString(connectionString);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(text);
  } catch (error) {
    const { expected, location } = error as { expected?: string; location?: [number, number] };
    throw new EventStoreConnectionStringError(
      `EVENTSTORE_CONNECTION_STRING is not valid` +
        (expected ? ` near character ${location?.[0] ?? "?"}: expected ${expected}` : ""),
    );
  }
  const channels: { close(): void }[] = [];
  const internals = client as unknown as { createChannel: () => Promise<{ close(): void }> };
  const createChannel = internals.createChannel;
  internals.createChannel = async () => {
    const channel = await createChannel();
    channels.push(channel);
    return channel;
  };
  return {
    client,
    release: async () => {
      await client.dispose().catch(() => {});
      for (const channel of channels.splice(0)) {
        try {
          channel.close();
        } catch {
          // already closed by the client after a failure
        }
      }
    },
  };
};

/** Failures of the connection rather than answers of the server: worth a fresh session. */
const TRANSPORT = new Set<unknown>([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.CANCELLED,
  ErrorType.UNKNOWN,
  ErrorType.NOT_LEADER,
  ErrorType.TIMEOUT,
]);
const SERVER_ANSWERS = new Set<unknown>(Object.values(ErrorType).filter((t) => !TRANSPORT.has(t)));
const isServerAnswer = (error: unknown) => SERVER_ANSWERS.has((error as { type?: unknown })?.type);

const message = (error: unknown) => error instanceof Error ? error.message : String(error);

export const esdbEventStore = (connectionString: string, options: EsdbOptions = {}): EventStore => {
  const { timeoutMs = 10_000, recycleIdleMs = 60_000, logger = silentLogger } = options;
  const endpoints = endpointsOf(connectionString);
  const closing = new AbortController();
  let closed = false;
  const subscriptions = new Set<Promise<void>>();
  const disposals = new Set<Promise<void>>();
  const dispose = (connection: Connection) => {
    const done: Promise<void> = connection.release().finally(() => disposals.delete(done));
    disposals.add(done);
  };

  // One client for reads and writes, replaced when it failed at the transport level or sat
  // idle: either way the next call gets a fresh HTTP/2 session (see esdb_subscription.ts).
  type Slot = { connection: Connection; inFlight: number; lastUsed: number };
  // Built now, so that a bad connection string stops the app at start.
  let current: Slot | null = { connection: connect(connectionString), inFlight: 0, lastUsed: 0 };
  const call = async <T>(what: string, action: (client: EventStoreDBClient) => Promise<T>) => {
    if (closed) throw new Error(`${what}: the event store is closed`);
    const idle = current && current.lastUsed > 0 && current.inFlight === 0 &&
      Date.now() - current.lastUsed > recycleIdleMs;
    if (current && idle) {
      dispose(current.connection);
      current = null;
    }
    const slot: Slot = current ??= {
      connection: connect(connectionString),
      inFlight: 0,
      lastUsed: 0,
    };
    slot.inFlight++;
    slot.lastUsed = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const work = action(slot.connection.client);
    work.catch(() => {}); // it may lose the race below; its failure is reported there
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new EventStoreUnavailable(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (isServerAnswer(error)) throw error;
      if (current === slot) current = null; // the next call connects afresh
      throw new EventStoreUnavailable(
        `${what} failed at EventStoreDB ${endpoints}: ${message(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
      slot.inFlight--;
      slot.lastUsed = Date.now();
      if (current !== slot && slot.inFlight === 0) dispose(slot.connection);
    }
  };

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
          (client) => client.appendToStream(streamId, data, { expectedRevision }),
        );
        return {
          nextRevision: Number(result.nextExpectedRevision),
          position: toPosition(result.position?.commit),
        } satisfies AppendResult;
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          throw toWrongExpectedRevision(error, streamId, expected);
        }
        throw error;
      }
    },

    async readStream(streamId: string) {
      return (await readStreamRaw(`read ${streamId}`, streamId)).map(toRecordedEvent);
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
      return out;
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
        await call(`set ${stream} metadata`, (c) => c.setStreamMetadata(stream, { maxCount: 1 }));
        checkpointMetadataSet.add(stream);
      }
      await call(
        `store checkpoint ${subscriberId}`,
        (client) =>
          client.appendToStream(stream, jsonEvent({ type: CHECKPOINT_TYPE, data: { position } }), {
            expectedRevision: ANY,
          }),
      );
    },

    /** Stops the subscriptions (they store their checkpoints), then lets the connection go. */
    async close() {
      closing.abort();
      await Promise.all(subscriptions);
      closed = true;
      if (current) dispose(current.connection);
      current = null;
      await Promise.all(disposals);
    },
  };
  return store;
};
