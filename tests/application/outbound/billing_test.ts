// Outbound customer updates and cancellations, against the Stripe simulator.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import type { IncomingMessage } from "../../../application/ports/bus.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { StripeGateway } from "../../../application/ports/stripe_gateway.ts";
import { outboundHandler } from "../../../application/outbound/handler.ts";
import { outboxMessage } from "../../../application/outbox/messages.ts";
import { clients, planSubscriptions } from "../../../application/shared/aggregates.ts";
import { setupOptions } from "../../support/inbound_pipeline.ts";
import { goldMonthly } from "../../support/stripe_outbound_fixtures.ts";

const NOW = "2026-03-01T12:00:00.000Z";
/** One sequence of event ids for every setup command: each event has its own id. */
const SETUP = setupOptions();
const KEY = "sk_test_outbound";

/** The message the outbox publishes for the stream's last event. */
const lastMessage = async (store: EventStore, streamId: string): Promise<IncomingMessage> => {
  const event = (await store.readStream(streamId)).at(-1)!;
  const message = (await outboxMessage(store, event))!;
  return { ...message, headers: message.headers ?? {}, partition: 0, offset: "0" };
};

const counting = (gateway: StripeGateway) => {
  const calls: string[] = [];
  const counted = Object.fromEntries(
    Object.entries(gateway).map(([name, call]) => [name, (...args: unknown[]) => {
      calls.push(name);
      return (call as (...a: unknown[]) => Promise<unknown>)(...args);
    }]),
  ) as unknown as StripeGateway;
  return { calls, gateway: counted };
};

const api = (simulator: { url: string }, path: string) =>
  fetch(`${simulator.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } })
    .then((r) => r.json());

Deno.test("a client's new email reaches its Stripe customer", async () => {
  await using simulator = startStripeSimulator();
  const store = memoryEventStore();
  const gateway = stripeSdkGateway({ apiKey: KEY, apiBase: simulator.url });
  const customerId = await gateway.createCustomer(
    { nudgesClientId: "client-1", name: "Ada", email: "ada@example.com" },
    "k1",
  );
  const at = NOW;
  await clients.handle(store, {
    type: "CreateClient",
    data: { clientId: "client-1", at, name: "Ada", email: "ada@example.com" },
  }, SETUP);
  await clients.handle(store, {
    type: "LinkStripeCustomer",
    data: { clientId: "client-1", at, stripeCustomerId: customerId },
  }, SETUP);
  await clients.handle(store, {
    type: "UpdateClient",
    data: { clientId: "client-1", at, email: "ada@king.org" },
  }, SETUP);
  const handle = outboundHandler({ store, gateway, clock: () => NOW });
  await handle(await lastMessage(store, clients.streamId("client-1")));
  const customer = await api(simulator, `/v1/customers/${customerId}`);
  assert.deepEqual([customer.email, customer.name], ["ada@king.org", "Ada"]);
});

const subscribedInSimulator = async (gateway: StripeGateway, simulator: { url: string }) => {
  const { price } = await goldMonthly(gateway);
  const customer = await gateway.createCustomer(
    { nudgesClientId: "client-1", name: "Ada", email: "ada@example.com" },
    "k3",
  );
  const session = await gateway.createCheckoutSession({
    nudgesClientId: "client-1",
    nudgesPlanId: "plan-1",
    nudgesPriceTierId: "tier-1",
    stripeCustomerId: customer,
    stripePriceId: price,
    mode: "subscription",
    successUrl: "https://app.example.com/ok",
    cancelUrl: "https://app.example.com/no",
  }, "k4");
  await fetch(`${session.url}/pay`, { method: "POST", redirect: "manual" }).then((r) =>
    r.body?.cancel()
  );
  return (await api(simulator, "/v1/subscriptions")).data[0].id as string;
};

const knownSubscription = async (store: EventStore, stripeSubscriptionId: string) => {
  await planSubscriptions.handle(store, {
    type: "StartPlanSubscription",
    data: {
      planSubscriptionId: "ps-1",
      at: NOW,
      clientId: "client-1",
      planId: "plan-1",
      priceTierId: "tier-1",
      stripeSubscriptionId,
      stripeCustomerId: null,
      paymentConfirmationId: null,
      status: "active",
    },
  }, SETUP);
  await planSubscriptions.handle(store, {
    type: "RequestPlanSubscriptionCancel",
    data: { planSubscriptionId: "ps-1", at: NOW, immediately: false },
  }, SETUP);
  return await lastMessage(store, planSubscriptions.streamId("ps-1"));
};

Deno.test("a cancel intent asks Stripe once; after Stripe's confirmation a redelivery calls nothing", async () => {
  await using simulator = startStripeSimulator();
  const store = memoryEventStore();
  const stripe = counting(stripeSdkGateway({ apiKey: KEY, apiBase: simulator.url }));
  const subscriptionId = await subscribedInSimulator(stripe.gateway, simulator);
  const message = await knownSubscription(store, subscriptionId);
  const handle = outboundHandler({ store, gateway: stripe.gateway, clock: () => NOW });
  await handle(message);
  assert.equal(
    (await api(simulator, `/v1/subscriptions/${subscriptionId}`)).cancel_at_period_end,
    true,
  );
  assert.equal(stripe.calls.filter((c) => c === "cancelSubscription").length, 1);
  // Stripe's webhook confirms it…
  await planSubscriptions.handle(store, {
    type: "ApplyStripeSubscription",
    data: {
      planSubscriptionId: "ps-1",
      at: NOW,
      stripeEventId: "evt_confirm",
      stripeEventCreated: 1_772_366_400,
      clientId: "client-1",
      planId: "plan-1",
      priceTierId: "tier-1",
      stripeSubscriptionId: subscriptionId,
      stripeCustomerId: null,
      paymentConfirmationId: null,
      status: "active",
      currentPeriodEnd: "2026-04-01T12:00:00.000Z",
      cancelAtPeriodEnd: true,
      canceledAt: null,
    },
  }, SETUP);
  // …so the same message again makes no call.
  await handle(message);
  assert.equal(stripe.calls.filter((c) => c === "cancelSubscription").length, 1);
  const state = (await planSubscriptions.read(store, "ps-1")).state;
  assert.deepEqual(state && [state.cancelAtPeriodEnd, state.cancelRequested], [true, null]);
});

Deno.test("a cancel Stripe refuses is recorded with Stripe's message", async () => {
  await using simulator = startStripeSimulator();
  const store = memoryEventStore();
  const gateway = stripeSdkGateway({ apiKey: KEY, apiBase: simulator.url });
  const handle = outboundHandler({ store, gateway, clock: () => NOW });
  await handle(await knownSubscription(store, "sub_unknown"));
  const state = (await planSubscriptions.read(store, "ps-1")).state;
  assert.match(state?.cancelError ?? "", /No such subscription: 'sub_unknown'/);
  assert.equal(state?.cancelRequested, null);
});
