// The inbound path in one process: the webhook endpoint records a signed delivery, and
// the message the outbox makes of it is handed to the inbound consumer.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../adapters/eventstore/memory.ts";
import { webhookHandler } from "../../adapters/http/webhooks.ts";
import type { IncomingMessage } from "../../application/ports/bus.ts";
import { type Clock } from "../../application/ports/clock.ts";
import { sequentialIds } from "./clocks.ts";
import type { DomainEvent } from "../../domain/decider.ts";
import { readState } from "../../application/shared/command_handler.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import { inboundHandler } from "../../application/inbound/consumer.ts";
import { silentLogger } from "../../application/ports/logger.ts";
import type { StripeGateway } from "../../application/ports/stripe_gateway.ts";
import { plans, priceTiers } from "../../application/shared/aggregates.ts";
import { outboxMessage } from "../../application/outbox/messages.ts";
import { stripeEventStream } from "../../application/shared/stripe_events.ts";
import type { Decider } from "../../domain/decider.ts";
import { API_KEY, NOW, SECRET, signedRequest } from "./webhook_fixtures.ts";

type Json = Record<string, unknown>;

/** handleCommand's options for the commands a test runs to set the scene. */
export const setupOptions = () => ({
  metadata: {
    correlationId: "c",
    causationId: "c",
    cause: { kind: "system", reason: "test" },
  },
  newEventId: sequentialIds("setup"),
} as const);

export const inboundPipeline = (
  { store = memoryEventStore(), clock = () => NOW, gateway }: {
    store?: EventStore;
    clock?: Clock;
    gateway?: StripeGateway;
  } = {},
) => {
  const endpoint = webhookHandler({
    store,
    secret: SECRET,
    apiKey: API_KEY,
    clock,
    logger: silentLogger,
  });
  const consume = inboundHandler({ store, clock, gateway });
  let offset = 0;
  /** Delivers the event to the endpoint; the message the outbox publishes for it. */
  const post = async (event: Json): Promise<IncomingMessage> => {
    const response = await endpoint(await signedRequest(event));
    assert.equal(response.status, 200, await response.text());
    const [recorded] = await store.readStream(stripeEventStream(String(event.id)));
    assert.ok(recorded, `event ${event.id} was not recorded`);
    const message = await outboxMessage(store, recorded);
    assert.ok(message, `the outbox does not publish ${recorded.type}`);
    return { ...message, headers: message.headers ?? {}, partition: 0, offset: String(offset++) };
  };
  /** From Stripe to the domain: endpoint, then consumer. */
  const deliver = async (event: Json): Promise<void> => await consume(await post(event));
  return { store, post, consume, deliver };
};

/** The inbound consumer's bookkeeping: records, owners, parked prices. */
const INTERNAL =
  /^(stripeEvent|stripeProductOwner|stripeCustomerOwner|stripePaymentOwner|stripeProductPending|stripeSubscriptionPending)-/;

/** The domain's events (not the webhook bookkeeping), for "nothing changed" checks. */
export const domainEvents = async (store: EventStore) =>
  (await store.readAll({ limit: 100_000 })).filter((e) => !INTERNAL.test(e.streamId));

/** A stream's current state, for assertions. */
export const stateOf = async <C, E extends DomainEvent, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
): Promise<S> => (await readState(store, decider, streamId)).state;

/** A plan and a price tier Nudges sells, linked to `stripePriceId` when given. */
export const sellTier = async (
  store: EventStore,
  {
    planId = "plan-1",
    priceTierId = "tier-1",
    unitAmount = 1500,
    currency = "usd",
    interval = "month",
    stripePriceId,
  }: {
    planId?: string;
    priceTierId?: string;
    unitAmount?: number;
    currency?: string;
    interval?: "month" | "year" | null;
    stripePriceId?: string;
  } = {},
) => {
  const at = "2026-03-01T09:00:00.000Z";
  if ((await plans.read(store, planId)).state === null) {
    await plans.handle(store, {
      type: "CreatePlan",
      data: { planId, at, name: `Plan ${planId}`, description: null, iconUrl: null },
    }, setupOptions());
  }
  await priceTiers.handle(store, {
    type: "CreatePriceTier",
    data: {
      priceTierId,
      planId,
      at,
      name: null,
      unitAmount,
      currency,
      interval,
      intervalCount: interval === null ? null : 1,
    },
  }, setupOptions());
  if (stripePriceId !== undefined) {
    await priceTiers.handle(store, {
      type: "LinkStripePrice",
      data: { priceTierId, at, stripePriceId },
    }, setupOptions());
  }
};
