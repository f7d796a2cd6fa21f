import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { applyOutbound } from "../../../application/outbound/mod.ts";
import { outboxMessage } from "../../../application/outbox/mod.ts";
import { clients, plans } from "../../../application/shared/aggregates.ts";
import { IntegrationEvent } from "../../../application/shared/integration_events.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { nudgesClient, nudgesPlan } from "../../support/reconcile_fixtures.ts";

const KEY = "sk_test_earlier_twin";
const HOUR = 3_600_000;
const metadata = {
  correlationId: "t",
  causationId: "t",
  cause: { kind: "system", reason: "test" },
} as const;

/** The creating event's message as outbound gets it, sent `hoursAgo`. */
const creation = async (store: EventStore, streamId: string, hoursAgo: number) => {
  const [created] = await store.readStream(streamId);
  const message = await outboxMessage(store, created!);
  const event = IntegrationEvent.parse(JSON.parse(message!.value));
  return { ...event, occurredAt: new Date(Date.now() - hoursAgo * HOUR).toISOString() };
};

const scene = () => {
  const simulator = startStripeSimulator({ apiKey: KEY });
  const stripe = stripeClient({ apiKey: KEY, apiBase: simulator.url });
  const store = memoryEventStore();
  const deps = {
    store,
    gateway: stripeSdkApi({ client: stripe }),
    clock: () => new Date().toISOString(),
  };
  return { simulator, stripe, store, deps };
};

Deno.test("a plan's create older than Stripe's key window links the product an earlier attempt made instead of making a second", async () => {
  const { simulator, stripe, store, deps } = scene();
  try {
    const planId = await nudgesPlan(store, { name: "Lost" });
    // The earlier attempt: made in Stripe, its link never recorded, its key long forgotten.
    const earlier = await stripe.products.create({
      name: "Lost",
      metadata: { nudges_plan_id: planId },
    });
    await applyOutbound(deps, await creation(store, plans.streamId(planId), 25), metadata);
    assert.equal((await plans.read(store, planId)).state!.stripeProductId, earlier.id);
    assert.equal((await stripe.products.list()).data.length, 1);
  } finally {
    await simulator.close();
  }
});

Deno.test("a create younger than the key window trusts its idempotency key and asks Stripe nothing else", async () => {
  const { simulator, stripe, store, deps } = scene();
  try {
    const clientId = await nudgesClient(store);
    // Made under another key (not this event's): within the window that cannot happen, so
    // outbound does not look for it.
    await stripe.customers.create({ name: "Ada", metadata: { nudges_client_id: clientId } });
    await applyOutbound(deps, await creation(store, clients.streamId(clientId), 1), metadata);
    assert.equal((await stripe.customers.list()).data.length, 2);
  } finally {
    await simulator.close();
  }
});

Deno.test("a client's create older than the key window links the customer an earlier attempt made", async () => {
  const { simulator, stripe, store, deps } = scene();
  try {
    const clientId = await nudgesClient(store);
    const earlier = await stripe.customers.create({
      name: "Ada",
      metadata: { nudges_client_id: clientId },
    });
    await applyOutbound(deps, await creation(store, clients.streamId(clientId), 30), metadata);
    assert.equal((await clients.read(store, clientId)).state!.stripeCustomerId, earlier.id);
    assert.equal((await stripe.customers.list()).data.length, 1);
  } finally {
    await simulator.close();
  }
});
