// The one command handler: read the stream, fold it, decide, append at the revision
// that was read. A conflict means a concurrent writer: read again and decide again, a
// few times, then give up with the conflict.
import { type Decider, fold } from "../../domain/decider.ts";
import type { NewId } from "../ports/clock.ts";
import {
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
  WrongExpectedRevision,
} from "../ports/event_store.ts";

export type DomainEvent = { type: string; data: unknown };

export type CommandResult<E, S> = {
  /** The state after the command (unchanged when it produced no events). */
  state: S;
  /** What the command appended; [] for a no-op. */
  events: E[];
  /** The stream's revision afterwards; -1 when the stream does not exist. */
  revision: number;
  /** Global position of the last appended event; undefined for a no-op. */
  position?: number;
};

export type CommandOptions = {
  /** Correlation, causation and cause for the events this command appends. */
  metadata: Omit<EventMetadata, "eventId">;
  /** Ids for the appended events; deterministic ids make redelivered commands idempotent. */
  newEventId: NewId;
  /** The caller's optimistic concurrency: refuse unless the stream is at this revision. */
  expectedRevision?: number;
  /** Attempts on a revision conflict when no expectedRevision was given (default 3). */
  maxAttempts?: number;
};

export class ConcurrencyConflict extends Error {
  override name = "ConcurrencyConflict";
  constructor(readonly streamId: string, readonly conflict: WrongExpectedRevision) {
    super(`${streamId} was changed concurrently: ${conflict.message}`);
  }
}

/** A stream as the handler sees it: its events folded, its revision, the ids of its events. */
export type StreamState<S> = {
  state: S;
  /** -1 when the stream does not exist. */
  revision: number;
  /** Ids of the events recorded, to tell whether a cause with derived ids was applied. */
  eventIds: ReadonlySet<string>;
  /** The events as stored, for callers that look at what came after a given one. */
  recorded: readonly RecordedEvent[];
};

export const readState = async <C, E extends DomainEvent, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
): Promise<StreamState<S>> => {
  const recorded = await store.readStream(streamId);
  return {
    state: fold(decider, recorded.map((e) => ({ type: e.type, data: e.data }) as E)),
    revision: recorded.length - 1,
    eventIds: new Set(recorded.map((e) => e.metadata.eventId)),
    recorded,
  };
};

export const handleCommand = async <C, E extends DomainEvent, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  command: C,
  options: CommandOptions,
): Promise<CommandResult<E, S>> => {
  const attempts = options.expectedRevision === undefined ? options.maxAttempts ?? 3 : 1;
  for (let attempt = 1;; attempt++) {
    const { state, revision } = await readState(store, decider, streamId);
    if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
      throw new ConcurrencyConflict(
        streamId,
        new WrongExpectedRevision(
          streamId,
          options.expectedRevision,
          revision < 0 ? "noStream" : revision,
        ),
      );
    }
    const events = decider.decide(command, state);
    if (events.length === 0) return { state, events, revision };
    const expected: ExpectedRevision = revision < 0 ? "noStream" : revision;
    try {
      const appended = await store.append(
        streamId,
        events.map((event) => ({
          type: event.type,
          data: event.data,
          metadata: { ...options.metadata, eventId: options.newEventId() },
        })),
        expected,
      );
      return {
        state: events.reduce(decider.evolve, state),
        events,
        revision: appended.nextRevision,
        position: appended.position,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevision)) throw error;
      if (attempt >= attempts) throw new ConcurrencyConflict(streamId, error);
    }
  }
};
