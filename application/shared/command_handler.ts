/**
 * The one command handler: read the stream, fold it, decide, append at the revision that
 * was read. A conflict means a concurrent writer: read again and decide again, a few
 * times with a jittered backoff, then give up with the conflict. With `once`, a command
 * whose cause was applied already (a redelivered message, a Stripe event sent twice)
 * is skipped: its events carry ids derived from the cause, found in the stream.
 *
 * Every write to an aggregate goes through here; see docs/architecture.md.
 * @module
 */
import { type Decider, type DomainEvent, fold } from "../../domain/decider.ts";
import { type NewId, randomId } from "../ports/clock.ts";
import {
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
  WrongExpectedRevision,
} from "../ports/event_store.ts";
import { checkEventSizes } from "./event_size.ts";
import { nameBasedId } from "./ids.ts";

export type CommandResult<E, S> = {
  /** The state after the command (unchanged when it produced no events). */
  state: S;
  /** What the command appended; [] for a no-op or a command applied before. */
  events: E[];
  /** The stream's revision afterwards; -1 when the stream does not exist. */
  revision: number;
  /** Global position of the last appended event; undefined when nothing was appended. */
  position?: number;
};

/**
 * "Apply this once": the cause (a Stripe event id, a bus message's event id) and the
 * step of it that this command is. The events appended get ids derived from
 * (scope, cause, stream, step), so the cause coming again finds them and skips.
 */
export type Once = {
  /** Keeps the ids of different mechanisms apart, e.g. "stripeEffect" or "outbound". */
  scope: string;
  cause: string;
  /** Tells apart several commands of one cause on one stream ("link", "import", …). */
  step: string;
};

export type CommandOptions = {
  /** Correlation, causation and cause for the events this command appends. */
  metadata: Omit<EventMetadata, "eventId">;
  /** Ids for the appended events (default random); ignored with `once`. */
  newEventId?: NewId;
  /** Skip the command if this cause's step is in the stream already. */
  once?: Once;
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

/** A stream as the handler sees it: its events folded, its revision, the events as stored. */
export type StreamState<E extends DomainEvent, S> = {
  state: S;
  /** -1 when the stream does not exist. */
  revision: number;
  /** The events as stored, for callers that look at what came after a given one. */
  recorded: readonly RecordedEvent<E>[];
};

export const readState = async <C, E extends DomainEvent, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
): Promise<StreamState<E, S>> => {
  const recorded = await store.readStream<E>(streamId);
  return {
    state: fold(decider, recorded),
    // The store's own count: a truncated stream does not start at revision 0.
    revision: recorded.at(-1)?.revision ?? -1,
    recorded,
  };
};

/** The id of the `index`th event a `once` command appends to `streamId`. */
const onceId = ({ scope, cause, step }: Once, streamId: string, index: number) =>
  nameBasedId(scope, `${cause}|${streamId}|${step}|${index}`);

/** True when the stream holds the events of this cause's step. */
export const appliedBefore = (
  stream: Pick<StreamState<DomainEvent, unknown>, "recorded">,
  streamId: string,
  once: Once,
): boolean => {
  // A command's events are appended together, so its first one tells.
  const first = onceId(once, streamId, 0);
  return stream.recorded.some((event) => event.metadata.eventId === first);
};

/**
 * Milliseconds to wait before conflict retry number `attempt` (1, 2, …): exponential from
 * 5 ms, "full jitter", so that writers that collided do not collide again in step.
 */
export const conflictBackoffMs = (attempt: number, random: () => number = Math.random): number =>
  random() * 5 * 2 ** attempt;

export const handleCommand = async <C, E extends DomainEvent, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  command: C,
  options: CommandOptions,
): Promise<CommandResult<E, S>> => {
  const { once, expectedRevision } = options;
  const attempts = expectedRevision === undefined ? options.maxAttempts ?? 3 : 1;
  for (let attempt = 1;; attempt++) {
    const stream = await readState(store, decider, streamId);
    const { state, revision } = stream;
    if (once && appliedBefore(stream, streamId, once)) return { state, events: [], revision };
    if (expectedRevision !== undefined && expectedRevision !== revision) {
      throw new ConcurrencyConflict(
        streamId,
        new WrongExpectedRevision(streamId, expectedRevision, revision < 0 ? "noStream" : revision),
      );
    }
    const events = decider.decide(command, state);
    if (events.length === 0) return { state, events, revision };
    checkEventSizes(streamId, events); // one too large for the bus is refused here, not later

    const newEventId = options.newEventId ?? randomId;
    const expected: ExpectedRevision = revision < 0 ? "noStream" : revision;
    try {
      const appended = await store.append(
        streamId,
        events.map((event, index) => ({
          type: event.type,
          data: event.data,
          metadata: {
            ...options.metadata,
            eventId: once ? onceId(once, streamId, index) : newEventId(),
          },
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
      await new Promise((resolve) => setTimeout(resolve, conflictBackoffMs(attempt)));
    }
  }
};

/**
 * An aggregate bound once to its stream: call sites pass commands only.
 *
 * @example
 * ```ts
 * const plans = aggregate(planDecider, planStream, (command) => command.data.planId);
 * await plans.handle(store, { type: "DeletePlan", data: { planId, at } }, { metadata });
 * const { state } = await plans.read(store, planId);
 * ```
 */
export type Aggregate<C, E extends DomainEvent, S> = {
  readonly decider: Decider<C, E, S>;
  streamId(id: string): string;
  read(store: EventStore, id: string): Promise<StreamState<E, S>>;
  handle(store: EventStore, command: C, options: CommandOptions): Promise<CommandResult<E, S>>;
};

export const aggregate = <C, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
  streamId: (id: string) => string,
  idOf: (command: C) => string,
): Aggregate<C, E, S> => ({
  decider,
  streamId,
  read: (store, id) => readState(store, decider, streamId(id)),
  handle: (store, command, options) =>
    handleCommand(store, decider, streamId(idOf(command)), command, options),
});
