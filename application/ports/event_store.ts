// The EventStore port: streams of events with optimistic concurrency, a global order
// across all streams, and checkpointed subscriptions over that order.

/** What caused a write: the outside request that started the chain. */
export type Cause =
  | { kind: "graphql"; requestId: string; operation?: string }
  | { kind: "stripe"; stripeEventId: string; stripeEventType: string }
  | { kind: "bus"; topic: string; partition: number; offset: string; messageId?: string }
  | { kind: "system"; reason: string };

export type EventMetadata = {
  eventId: string;
  correlationId: string;
  causationId: string;
  cause: Cause;
};

export type NewEvent = {
  type: string;
  data: unknown;
  metadata: EventMetadata;
};

export type RecordedEvent = {
  streamId: string;
  /** Position in its stream, from 0. */
  revision: number;
  /** Position in the store's global order, from 1; strictly increasing. */
  position: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  /** ISO 8601, UTC. */
  recordedAt: string;
};

/** `any`: no check. `noStream`: the stream must not exist. `exists`: it must. n: its last revision is n. */
export type ExpectedRevision = "any" | "noStream" | "exists" | number;

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
  ): Promise<AppendResult>;
  /** The whole stream, oldest first; [] when it does not exist. */
  readStream(streamId: string): Promise<RecordedEvent[]>;
  /** Up to `limit` events with position > `after`, in global order. */
  readAll(options?: { after?: number; limit?: number }): Promise<RecordedEvent[]>;
  /** Catch up from the stored checkpoint, then follow new events until aborted. */
  subscribeAll(options: SubscribeOptions): Subscription;
  /** The stored checkpoint of a subscriber, 0 when none. */
  readCheckpoint(subscriberId: string): Promise<number>;
  storeCheckpoint(subscriberId: string, position: number): Promise<void>;
  close(): Promise<void>;
}

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
