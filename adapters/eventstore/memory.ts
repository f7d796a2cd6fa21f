// In-memory EventStore: for unit tests and throwaway runs. Same contract as the others.
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedRevision,
} from "../../application/event_store.ts";
import type { Clock } from "../../application/clock.ts";
import { systemClock } from "../../application/clock.ts";
import { pollingSubscription } from "./polling_subscription.ts";

export const checkRevision = (
  streamId: string,
  expected: ExpectedRevision,
  current: number,
): void => {
  const ok = expected === "any" ||
    (expected === "noStream" && current < 0) ||
    (expected === "exists" && current >= 0) ||
    expected === current;
  if (!ok) throw new WrongExpectedRevision(streamId, expected, current < 0 ? "noStream" : current);
};

export const memoryEventStore = (clock: Clock = systemClock): EventStore => {
  const all: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const checkpoints = new Map<string, number>();
  const listeners = new Set<() => void>();

  const store: EventStore = {
    append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision) {
      const stream = streams.get(streamId) ?? [];
      checkRevision(streamId, expected, stream.length - 1);
      if (events.length === 0) {
        return Promise.resolve({ nextRevision: stream.length - 1, position: all.length });
      }
      const recordedAt = clock();
      for (const event of events) {
        const recorded: RecordedEvent = {
          streamId,
          revision: stream.length,
          position: all.length + 1,
          type: event.type,
          data: structuredClone(event.data),
          metadata: structuredClone(event.metadata),
          recordedAt,
        };
        stream.push(recorded);
        all.push(recorded);
      }
      streams.set(streamId, stream);
      for (const listener of listeners) listener();
      return Promise.resolve<AppendResult>({
        nextRevision: stream.length - 1,
        position: all.length,
      });
    },
    readStream: (streamId) => Promise.resolve([...(streams.get(streamId) ?? [])]),
    readAll: ({ after = 0, limit = 1000 } = {}) => Promise.resolve(all.slice(after, after + limit)),
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
