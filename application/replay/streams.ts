// Which decider folds a stream, told by the stream id's prefix, and the `--as-of` cut.
import type { Decider } from "../../domain/decider.ts";
import { clientDecider } from "../../domain/client.ts";
import { paymentConfirmationDecider } from "../../domain/payment_confirmation.ts";
import { planDecider } from "../../domain/plan.ts";
import { planSubscriptionDecider } from "../../domain/plan_subscription.ts";
import { priceTierDecider } from "../../domain/price_tier.ts";
import type { RecordedEvent } from "../ports/event_store.ts";

export type AggregateKind =
  | "plan"
  | "priceTier"
  | "client"
  | "planSubscription"
  | "paymentConfirmation";

// The deciders' command types differ; folding needs only initialState and evolve.
// deno-lint-ignore no-explicit-any
type AnyDecider = Decider<any, { type: string; data: unknown }, unknown>;

const DECIDERS: Record<AggregateKind, AnyDecider> = {
  plan: planDecider as AnyDecider,
  priceTier: priceTierDecider as AnyDecider,
  client: clientDecider as AnyDecider,
  planSubscription: planSubscriptionDecider as AnyDecider,
  paymentConfirmation: paymentConfirmationDecider as AnyDecider,
};

/**
 * The aggregate a stream belongs to, with its id; null for streams that no decider folds
 * (stripeEvent-…, stripeProductOwner-…). Prefixes are exact: "planSubscription-x" is no plan.
 */
export const aggregateOf = (streamId: string): { kind: AggregateKind; id: string } | null => {
  const dash = streamId.indexOf("-");
  if (dash <= 0) return null;
  const kind = streamId.slice(0, dash);
  return Object.hasOwn(DECIDERS, kind)
    ? { kind: kind as AggregateKind, id: streamId.slice(dash + 1) }
    : null;
};

/** The state after `event`, for a stream of `kind`. */
export const evolveRecorded = (kind: AggregateKind, state: unknown, event: RecordedEvent) =>
  DECIDERS[kind].evolve(state, { type: event.type, data: event.data });

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
  let state: unknown = kind === null ? null : DECIDERS[kind].initialState;
  const steps: HistoryStep[] = [];
  for (const event of events.filter(recordedBy(asOf))) {
    if (kind !== null) state = evolveRecorded(kind, state, event);
    steps.push({ event, state });
  }
  return { streamId, kind, steps, state };
};
