/**
 * In-memory EventStore: for unit tests and throwaway runs. Same contract as the others.
 * @module
 */
import {
  type AppendResult,
  asRecorded,
  checkRevision,
  checkTruncation,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from "../../application/ports/event_store.ts";
import type { Clock } from "../../application/ports/clock.ts";
import { systemClock } from "../../application/ports/clock.ts";
import { pollingSubscription } from "./polling_subscription.ts";

// Through JSON, as the durable stores keep it: data that would not survive them fails here too.
const asStored = <T>(value: T): T => JSON.parse(JSON.stringify(value));

export const memoryEventStore = (clock: Clock = systemClock): EventStore => {
  const all: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const checkpoints = new Map<string, number>();
  const listeners = new Set<() => void>();

  const appendNow = (
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): AppendResult => {
    const stream = streams.get(streamId) ?? [];
    // Its last event's own revision: a truncated stream does not start at 0.
    const current = stream.at(-1)?.revision ?? -1;
    checkRevision(streamId, expected, current);
    if (events.length === 0) return { nextRevision: current, position: all.length };
    // Everything is converted before anything is recorded, so a bad event leaves no trace.
    const stored = events.map((event) => ({
      type: event.type,
      data: asStored(event.data ?? null),
      metadata: asStored(event.metadata),
    }));
    const recordedAt = clock();
    let revision = current;
    for (const event of stored) {
      const recorded: RecordedEvent = {
        streamId,
        revision: ++revision,
        position: all.length + 1,
        ...event,
        recordedAt,
      };
      stream.push(recorded);
      all.push(recorded);
    }
    streams.set(streamId, stream);
    for (const listener of listeners) listener();
    return { nextRevision: revision, position: all.length };
  };

  const store: EventStore = {
    append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision) {
      // A refusal is a rejected promise, as from the other stores, never a synchronous throw.
      try {
        return Promise.resolve(appendNow(streamId, events, expected));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    readStream: (streamId) => Promise.resolve(asRecorded([...(streams.get(streamId) ?? [])])),
    truncateBefore: (streamId, revision) => {
      const stream = streams.get(streamId) ?? [];
      try {
        checkTruncation(streamId, revision, stream.at(-1)?.revision ?? -1);
      } catch (error) {
        return Promise.reject(error);
      }
      // Dropped from the stream only: readAll goes by position, as EventStoreDB's $all does.
      streams.set(streamId, stream.filter((event) => event.revision >= revision));
      return Promise.resolve();
    },
    readAll: ({ after = 0, limit = 1000 } = {}) =>
      Promise.resolve(asRecorded(all.slice(after, after + limit))),
    readCheckpoint: (id) => Promise.resolve(checkpoints.get(id) ?? 0),
    storeCheckpoint: (id, position) => {
      checkpoints.set(id, position);
      return Promise.resolve();
    },
    subscribeAll: (options) =>
      pollingSubscription(store, options, (wake) => {
        listeners.add(wake);
        return () => listeners.delete(wake);
      }),
    close: () => Promise.resolve(),
  };
  return store;
};
