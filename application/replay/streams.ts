/**
 * Which decider folds a stream, told by the stream id's prefix, and the `--as-of` cut.
 * @module
 */
import { type AggregateKind, aggregateOf, DECIDERS } from "../shared/aggregates.ts";
import type { RecordedEvent } from "../ports/event_store.ts";

/** The state after `event`, for a stream of `kind`. */
export const evolveRecorded = (kind: AggregateKind, state: unknown, event: RecordedEvent) =>
  DECIDERS[kind].evolve(state, event);

/**
 * Whether an event counts as of `asOf` (epoch ms): recorded at or before it. Compared as
 * instants, so stores that write recordedAt with other precisions or offsets agree.
 */
export const recordedBy = (asOf: number | undefined) => (event: RecordedEvent): boolean =>
  asOf === undefined || Date.parse(event.recordedAt) <= asOf;

export type HistoryStep = { event: RecordedEvent; state: unknown };

export type StreamHistory = {
  streamId: string;
  /** null when no decider folds this stream: its events are only listed. */
  kind: AggregateKind | null;
  steps: HistoryStep[];
  /** The state after the last step (the decider's initial state when there is none). */
  state: unknown;
};

/** One stream's events up to `asOf`, each with the state it left the aggregate in. */
export const streamHistory = (
  streamId: string,
  events: readonly RecordedEvent[],
  asOf?: number,
): StreamHistory => {
  const kind = aggregateOf(streamId)?.kind ?? null;
  let state: unknown = kind === null ? null : DECIDERS[kind].initialState();
  const steps: HistoryStep[] = [];
  for (const event of events.filter(recordedBy(asOf))) {
    if (kind !== null) state = evolveRecorded(kind, state, event);
    steps.push({ event, state });
  }
  return { streamId, kind, steps, state };
};
