// Both directions at once, as `deno task dev` runs them: the outbox, outbound sync and the
// inbound consumer on one in-process bus, the Stripe simulator sending its signed webhooks
// back to the endpoint. What must not happen is an echo: a call caused by a webhook
// that Nudges' own call caused.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { webhookHandler } from "../../../adapters/http/webhooks.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { systemClock } from "../../../application/ports/clock.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { inboundHandler } from "../../../application/inbound/consumer.ts";
import { STRIPE_WEBHOOK_APPLIED } from "../../../application/shared/stripe_events.ts";
import { TOPICS } from "../../../application/shared/integration_events.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import { startOutbound } from "../../../application/outbound/consumer.ts";
import { startOutbox } from "../../../application/outbox/outbox.ts";
import type { StripeGateway } from "../../../application/ports/stripe_gateway.ts";
import { type Plan, planDecider, planStream } from "../../../domain/plan.ts";
import { stateOf } from "../../support/inbound_pipeline.ts";
import { API_KEY, SECRET } from "../../support/webhook_fixtures.ts";
import Stripe from "stripe";

const STRIPE_KEY = "sk_test_echo_loop";

/** The gateway, counting the Stripe calls Nudges makes. */
const counted = (gateway: StripeGateway) => {
  const calls: string[] = [];
  const count =
    <A extends unknown[]>(name: string, call: (...args: A) => Promise<string>) => (...args: A) => {
      calls.push(name);
      return call(...args);
    };
  return {
    calls,
    gateway: {
      createProduct: count("products.create", gateway.createProduct.bind(gateway)),
      updateProduct: count("products.update", gateway.updateProduct.bind(gateway)),
      createPrice: count("prices.create", gateway.createPrice.bind(gateway)),
      archivePrice: count("prices.update", gateway.archivePrice.bind(gateway)),
      createCustomer: count("customers.create", gateway.createCustomer.bind(gateway)),
      updateCustomer: count("customers.update", gateway.updateCustomer.bind(gateway)),
      createCheckoutSession: gateway.createCheckoutSession.bind(gateway),
      listCheckoutLineItems: gateway.listCheckoutLineItems.bind(gateway),
      cancelSubscription: count("subscriptions.cancel", gateway.cancelSubscription.bind(gateway)),
    } satisfies StripeGateway,
  };
};

const eventually = async (what: string, check: () => Promise<boolean>) => {
  const deadline = Date.now() + 15_000;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const meta = {
  metadata: {
    correlationId: "test",
    causationId: "test",
    cause: { kind: "system", reason: "test" },
  },
  newEventId: () => crypto.randomUUID(),
} as const;

const planOf = async (store: EventStore, planId: string) =>
  await stateOf(store, planDecider, planStream(planId)) as Plan;

/** Stripe event types applied by the inbound consumer so far. */
const appliedWebhooks = async (store: EventStore) => {
  const all = await store.readAll({ limit: 100_000 });
  const applied = new Set(
    all.filter((e) => e.type === STRIPE_WEBHOOK_APPLIED).map((e) => e.streamId),
  );
  return all.filter((e) => e.type === "StripeWebhookReceived" && applied.has(e.streamId))
    .map((e) => (e.data as { stripeEventType: string }).stripeEventType);
};

Deno.test("one updatePlan makes exactly one products.update, its webhook echo none, a Dashboard edit none", async () => {
  const store = memoryEventStore();
  const bus = sqliteBus({ path: ":memory:", pollMs: 20 });
  const endpoint = webhookHandler({
    store,
    secret: SECRET,
    apiKey: API_KEY,
    clock: systemClock,
    logger: silentLogger,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, endpoint);
  const simulator = startStripeSimulator({
    apiKey: STRIPE_KEY,
    webhook: {
      url: `http://127.0.0.1:${server.addr.port}/api/StripeWebhookHandler?code=${API_KEY}`,
      secret: SECRET,
    },
  });
  const stripe = counted(stripeSdkGateway({ apiKey: STRIPE_KEY, apiBase: simulator.url }));
  const stopping = new AbortController();
  const outbox = startOutbox({ store, bus, signal: stopping.signal });
  const outbound = await startOutbound({
    bus,
    deps: { store, gateway: stripe.gateway, clock: systemClock },
  });
  const inbound = await bus.consume({
    groupId: "inbound",
    topics: [TOPICS.stripeEvents],
    handler: inboundHandler({ store, clock: systemClock }),
  });
  // Every message before a new plan's is handled once that plan is linked: one topic,
  // one partition, in order.
  const settle = async () => {
    const planId = crypto.randomUUID();
    await handleCommand(store, planDecider, planStream(planId), {
      type: "CreatePlan",
      data: { planId, at: systemClock(), name: "Sentinel", description: null, iconUrl: null },
    }, meta);
    await eventually(
      "the sentinel plan is linked",
      async () => (await planOf(store, planId)).stripeProductId !== null,
    );
    stripe.calls.splice(stripe.calls.lastIndexOf("products.create"), 1);
  };

  try {
    const planId = crypto.randomUUID();
    await handleCommand(store, planDecider, planStream(planId), {
      type: "CreatePlan",
      data: { planId, at: systemClock(), name: "Pro", description: null, iconUrl: null },
    }, meta);
    await eventually(
      "the plan is linked and its product.created came back",
      async () =>
        (await planOf(store, planId)).stripeProductId !== null &&
        (await appliedWebhooks(store)).includes("product.created"),
    );
    assert.deepEqual(stripe.calls, ["products.create"]);

    await handleCommand(store, planDecider, planStream(planId), {
      type: "UpdatePlan",
      data: { planId, at: systemClock(), name: "Pro Plus" },
    }, meta);
    await eventually(
      "the product.updated echo came back",
      async () => (await appliedWebhooks(store)).includes("product.updated"),
    );
    await settle();
    assert.deepEqual(stripe.calls, ["products.create", "products.update"]);
    assert.equal((await planOf(store, planId)).name, "Pro Plus");

    // Someone edits the product in the Stripe Dashboard.
    const dashboard = new Stripe(STRIPE_KEY, {
      httpClient: Stripe.createFetchHttpClient(),
      host: "127.0.0.1",
      port: new URL(simulator.url).port,
      protocol: "http",
      maxNetworkRetries: 0,
    });
    const { stripeProductId } = await planOf(store, planId);
    await dashboard.products.update(stripeProductId!, { name: "Pro (Dashboard)" });
    await eventually(
      "the Dashboard edit reached the plan",
      async () => (await planOf(store, planId)).name === "Pro (Dashboard)",
    );
    await settle();
    assert.deepEqual(stripe.calls, ["products.create", "products.update"]);
    assert.equal(simulator.pendingWebhooks(), 0);
  } finally {
    await inbound.stop();
    await outbound.stop();
    stopping.abort();
    await outbox.done;
    await bus.close();
    await simulator.close();
    await server.shutdown();
    await store.close();
  }
});
