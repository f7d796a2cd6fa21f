/**
 * The EventStoreDB client connection under the store (esdb.ts): making a client from the
 * connection string, and calling through it with a timeout. One client serves reads and
 * writes; it is replaced when it failed at the transport level or sat idle, and every
 * client made is let go entirely, its gRPC channels included.
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";
import { ErrorType, EventStoreDBClient } from "@eventstore/db-client";
import {
  clientConnectionString,
  endpointsOf,
  EventStoreConnectionStringError,
} from "./esdb_connection_string.ts";
import { isPermanentAnswer } from "./esdb_mapping.ts";

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
const isServerAnswer = (error: unknown) =>
  SERVER_ANSWERS.has((error as { type?: unknown })?.type) || isPermanentAnswer(error);

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
  const dispose = (slot: Slot) => {
    if (slot.disposed) return;
    slot.disposed = true;
    slots.delete(slot);
    const done: Promise<void> = slot.connection.release().finally(() => disposals.delete(done));
    disposals.add(done);
  };

  // One client for reads and writes, replaced when it failed at the transport level or sat
  // idle: either way the next call gets a fresh HTTP/2 session (see esdb_subscription.ts).
  // `inFlight` counts the client's own work, not our calls: a call that timed out may still
  // be running in the client, and disposing the client under it cancels its gRPC calls,
  // so a dropped client is disposed only once its last piece of work settled (the client's
  // own deadline, defaultDeadline, bounds that wait).
  type Slot = { connection: Connection; inFlight: number; lastUsed: number; disposed: boolean };
  /** Every client not let go yet: the current one and any dropped one still at work. */
  const slots = new Set<Slot>();
  const newSlot = (): Slot => {
    const slot = {
      connection: connect(connectionString),
      inFlight: 0,
      lastUsed: 0,
      disposed: false,
    };
    slots.add(slot);
    return slot;
  };
  // Built now, so that a bad connection string stops the app at start.
  let current: Slot | null = newSlot();
  // Recycles an idle client without waiting for a call, so that no HTTP/2 session sits idle
  // for minutes (Deno issue 36788); unref'd, so it never keeps the process alive.
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const dropIfIdle = (slot: Slot) => {
    if (current !== slot || slot.inFlight > 0) return;
    current = null;
    dispose(slot);
  };
  const settled = (slot: Slot) => {
    slot.inFlight--;
    slot.lastUsed = Date.now();
    if (slot.inFlight > 0) return;
    if (current !== slot) dispose(slot);
    else if (!closed) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => dropIfIdle(slot), recycleIdleMs);
      idleTimer.unref();
    }
  };

  const call = async <T>(what: string, action: (client: EventStoreDBClient) => Promise<T>) => {
    if (closed) throw new Error(`${what}: the event store is closed`);
    clearTimeout(idleTimer);
    // The timer's backstop, for a clock that jumped or a timer that was late.
    if (current && current.lastUsed > 0 && Date.now() - current.lastUsed > recycleIdleMs) {
      dropIfIdle(current);
    }
    const slot: Slot = current ??= newSlot();
    slot.inFlight++;
    slot.lastUsed = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let work: Promise<T>;
    try {
      work = action(slot.connection.client);
    } catch (error) {
      work = Promise.reject(error);
    }
    // It may lose the race below (its failure is reported there); it settles the slot when
    // the client is done with it, whichever way.
    work.then(() => settled(slot), () => settled(slot));
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
    }
  };

  return {
    call,
    close: async () => {
      closed = true;
      clearTimeout(idleTimer);
      // Closing cancels what is still at work: each call fails on its own (no shared state).
      for (const slot of [...slots]) dispose(slot);
      current = null;
      await Promise.all(disposals);
    },
  };
};
