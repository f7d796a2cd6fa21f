/**
 * The EventStore port: streams of events with optimistic concurrency, a global order
 * across all streams, and checkpointed subscriptions over that order. Adapters:
 * adapters/eventstore/ (SQLite, EventStoreDB, memory), all held to one contract suite
 * (tests/adapters/eventstore/event_store_contract.ts).
 *
 * @example Append at the revision read, then read the stream back, typed
 * ```ts
 * const recorded = await store.readStream<PlanEvent>("plan-1");
 * await store.append("plan-1", [event], recorded.at(-1)?.revision ?? "noStream");
 * ```
 * @module
 */
import type { DomainEvent } from "../../domain/decider.ts";

/** What caused a write: the outside request that started the chain. */
export type Cause =
  | { kind: "graphql"; requestId: string; operation?: string }
  | { kind: "stripe"; stripeEventId: string; stripeEventType: string }
  | { kind: "bus"; topic: string; partition: number; offset: string; messageId?: string }
  | { kind: "system"; reason: string }
  /** A repair made by a reconcile run (application/reconcile/), named by its run id. */
  | { kind: "reconcile"; runId: string };

export type EventMetadata = {
  eventId: string;
  correlationId: string;
  causationId: string;
  cause: Cause;
};

export type NewEvent<E extends DomainEvent = DomainEvent> = E & { metadata: EventMetadata };

/** Where and when the store recorded an event. */
export type Recorded = {
  streamId: string;
  /** Position in its stream, from 0. */
  revision: number;
  /** Position in the store's global order, from 1; strictly increasing. */
  position: number;
  metadata: EventMetadata;
  /** ISO 8601, UTC. */
  recordedAt: string;
};

/**
 * An event as stored. `E` is what the reader knows of the stream (its decider's events):
 * a union of events stays a union, so `switch (event.type)` narrows `event.data`.
 */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E extends unknown ? E & Recorded
  : never;

/**
 * The events a store read, as the events the reader names: the one place where a stream's
 * contents are taken on trust, since a store keeps data as JSON without its types.
 */
export const asRecorded = <E extends DomainEvent>(
  events: readonly RecordedEvent[],
): RecordedEvent<E>[] => events as RecordedEvent<E>[];

/** `any`: no check. `noStream`: the stream must not exist. `exists`: it must. n: its last revision is n. */
export type ExpectedRevision = "any" | "noStream" | "exists" | number;

export type AppendOptions = {
  /**
   * Resolve only once the append would survive a power loss or OS crash too, not only a crash
   * of the process: for an append whose sender is told "done" and will not send it again (a
   * Stripe webhook answered 200). It costs a sync to disk; stores that sync every append
   * (EventStoreDB) need nothing more.
   */
  durable?: boolean;
};

export type AppendResult = {
  /** Revision of the last event written (the stream's new revision). */
  nextRevision: number;
  /** Global position of the last event written. */
  position: number;
};

export type Subscription = {
  /** Resolves once the subscription has stopped (aborted), rejects if it failed for good. */
  done: Promise<void>;
};

export type SubscribeOptions = {
  /** Names the stored checkpoint; a subscriber with the same id resumes after it. */
  subscriberId: string;
  /**
   * Called once per event in global order. An event is checkpointed only after its
   * handler resolved; after a crash the handler may see the last few events again.
   */
  handler: (event: RecordedEvent) => Promise<void> | void;
  signal: AbortSignal;
  /** Called when the subscription has caught up with the end of the store (then live). */
  onCaughtUp?: (position: number) => void;
};

export interface EventStore {
  append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * The whole stream, oldest first; [] when it does not exist. `E` names the events the
   * caller knows the stream holds: the store does not check it.
   */
  readStream<E extends DomainEvent = DomainEvent>(streamId: string): Promise<RecordedEvent<E>[]>;
  /**
   * Drops the stream's events before `revision` from what readStream returns, for streams
   * that grow with time rather than with business (the lease, application/lease/). Revisions
   * are not renumbered: readStream reports the kept events' own revisions, and the next
   * append still expects the stream's last revision. The last event always stays, so that
   * the stream's revision stays known: a `revision` past it, or a stream that does not exist,
   * is refused with a RangeError and changes nothing. Events once dropped never come back
   * (a lower `revision` later changes nothing). readAll and subscriptions may still deliver
   * dropped events (EventStoreDB keeps them in $all until a scavenge; SQLite deletes them).
   */
  truncateBefore(streamId: string, revision: number): Promise<void>;
  /** Up to `limit` events with position > `after`, in global order. */
  readAll<E extends DomainEvent = DomainEvent>(
    options?: { after?: number; limit?: number },
  ): Promise<RecordedEvent<E>[]>;
  /** Catch up from the stored checkpoint, then follow new events until aborted. */
  subscribeAll(options: SubscribeOptions): Subscription;
  /** The stored checkpoint of a subscriber, 0 when none. */
  readCheckpoint(subscriberId: string): Promise<number>;
  storeCheckpoint(subscriberId: string, position: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The rule every store applies before an append: throws WrongExpectedRevision unless the
 * stream's `current` revision (-1 when it does not exist) is what the writer expected.
 */
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

/**
 * The rule every store applies before truncateBefore: throws RangeError unless `revision` is
 * a revision of the stream, whose `last` revision is given (-1 when it does not exist).
 */
export const checkTruncation = (streamId: string, revision: number, last: number): void => {
  if (!Number.isSafeInteger(revision) || revision < 0) {
    throw new RangeError(`truncateBefore needs a revision >= 0, got ${revision}`);
  }
  if (last < 0) throw new RangeError(`stream ${streamId} does not exist: nothing to truncate`);
  if (revision > last) {
    throw new RangeError(
      `stream ${streamId} ends at revision ${last}: truncating before ${revision} ` +
        "would drop its last event",
    );
  }
};

/** A concurrent writer got there first: the stream is not at the expected revision. */
export class WrongExpectedRevision extends Error {
  override name = "WrongExpectedRevision";
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | "noStream",
  ) {
    super(`stream ${streamId} is at revision ${actual}, expected ${expected}`);
  }
}
