/**
 * The EventStoreDB client connection under the store (esdb.ts): making a client from the
 * connection string, and calling through it with a timeout. One client serves reads and
 * writes; it is replaced when it failed at the transport level or sat idle, and every
 * client made is let go entirely, its gRPC channels included.
 * @module
 */
import { ErrorType, EventStoreDBClient } from "@eventstore/db-client";
import {
  clientConnectionString,
  endpointsOf,
  EventStoreConnectionStringError,
} from "./esdb_mapping.ts";

/** EventStoreDB could not be reached or did not answer; says where, never with credentials. */
export class EventStoreUnavailable extends Error {
  override name = "EventStoreUnavailable";
}

/** A client and how to let it go entirely. */
export type Connection = { client: EventStoreDBClient; release(): Promise<void> };

/**
 * A client for the string; a parse error is told by position and never echoes the string.
 * The client's dispose() cancels its calls but leaves its gRPC channel (the HTTP/2 session
 * and its keepalive timer) open, so the channels it makes are recorded and closed on
 * release. That reaches into the client's createChannel: checked against 6.2.1, pinned.
 */
export const connect = (connectionString: string): Connection => {
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

/** Calls through the current client, each bounded by a timeout. */
export type EsdbCalls = {
  /**
   * Runs `action` on the current client (a fresh one when there is none or it sat idle past
   * `recycleIdleMs`). A server's answer (an error it sent) is thrown as is; anything else,
   * a timeout included, drops the client for the next call and is thrown as
   * EventStoreUnavailable naming `what` and the endpoints.
   */
  call<T>(what: string, action: (client: EventStoreDBClient) => Promise<T>): Promise<T>;
  /** Refuses further calls and lets every client go. */
  close(): Promise<void>;
};

export const esdbCalls = (
  connectionString: string,
  { timeoutMs, recycleIdleMs }: { timeoutMs: number; recycleIdleMs: number },
): EsdbCalls => {
  const endpoints = endpointsOf(connectionString);
  let closed = false;
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

  return {
    call,
    close: async () => {
      closed = true;
      if (current) dispose(current.connection);
      current = null;
      await Promise.all(disposals);
    },
  };
};
