/**
 * What a reconcile run works with: the store, Stripe, and the metadata every repair's
 * events carry, naming the run ({ kind: "reconcile", runId }).
 * @module
 */
import type { InboundContext } from "../inbound/mod.ts";
import type { Clock } from "../ports/clock.ts";
import type { EventMetadata, EventStore } from "../ports/event_store.ts";
import type { Logger } from "../ports/logger.ts";
import type { StripeGateway, StripeReader, StripeRecord } from "../ports/stripe_gateway.ts";

export type ReconcileDeps = {
  store: EventStore;
  gateway: StripeGateway & StripeReader;
  clock: Clock;
  logger: Logger;
};

export type RunContext = ReconcileDeps & {
  runId: string;
  metadata: Omit<EventMetadata, "eventId">;
};

export const runContext = (deps: ReconcileDeps, runId: string): RunContext => ({
  ...deps,
  runId,
  metadata: { correlationId: runId, causationId: runId, cause: { kind: "reconcile", runId } },
});

/**
 * A Stripe object found by reconcile, as the inbound flow applies a webhook of it: the
 * run stands in for the Stripe event (its id is the cause each command is applied once
 * for), and `created` is when Stripe's values date from, for the stale guard.
 */
export const inboundContext = (
  run: RunContext,
  type: string,
  object: StripeRecord,
  created: number,
): InboundContext => {
  const id = `reconcile-${run.runId}`;
  return {
    store: run.store,
    clock: run.clock,
    stripeEventId: id,
    stripeEventType: type,
    created,
    event: { id, type, created, data: { object } },
    metadata: run.metadata,
  };
};
