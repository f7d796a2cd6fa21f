// Checkouts without Nudges metadata, what does not add up, refunds and customer changes,
// from signed webhooks built on Stripe's own fixtures.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { CheckoutLineItem, StripeGateway } from "../../../application/ports/stripe_gateway.ts";
import type { Logger } from "../../../application/ports/logger.ts";
import {
  clients,
  paymentConfirmations,
  planSubscriptions,
} from "../../../application/shared/aggregates.ts";
import { inboundHandler } from "../../../application/inbound/consumer.ts";
import { inboundPipeline, sellTier, setupOptions } from "../../support/inbound_pipeline.ts";
import {
  charge,
  checkoutSession,
  customer,
  lineItem,
  NOW_SECONDS,
  product,
  stripeEvent,
} from "../../support/webhook_fixtures.ts";

type Json = Record<string, unknown>;
const T = NOW_SECONDS - 600;
const PRICE = "price_1PgafmB7WZ01zgkW02Hf9z6c";

/** Stripe answering list-line-items with `items` for any session, and nothing else. */
const lineItems = (items: Json[]) => {
  const asked: string[] = [];
  const refuse = () => Promise.reject(new Error("not in this test"));
  const gateway: StripeGateway = {
    listCheckoutLineItems: (sessionId) => {
      asked.push(sessionId);
      return Promise.resolve(items.map((item) => ({
        quantity: Number(item.quantity),
        amountSubtotal: Number(item.amount_subtotal),
        currency: String(item.currency),
        price: item.price as CheckoutLineItem["price"],
      })));
    },
    createProduct: refuse,
    updateProduct: refuse,
    createPrice: refuse,
    archivePrice: refuse,
    createCustomer: refuse,
    updateCustomer: refuse,
    createCheckoutSession: refuse,
    cancelSubscription: refuse,
  };
  return { gateway, asked };
};

/** A Payment Link's session: no metadata.nudges_*, no client_reference_id. */
const linkSession = (fields: Json = {}) =>
  checkoutSession({
    id: "cs_test_link",
    mode: "payment",
    customer: "cus_link",
    payment_status: "paid",
    payment_intent: "pi_link",
    amount_subtotal: 1000,
    amount_total: 1000,
    currency: "usd",
    metadata: {},
    ...fields,
  });

const item = (fields: Json = {}) => {
  const object = lineItem({ quantity: 1, amount_subtotal: 1000, ...fields });
  object.price = { ...(object.price as Json), type: "one_time", recurring: null };
  return object;
};

const payment = async (store: EventStore) =>
  (await paymentConfirmations.read(store, nameBasedId("paymentConfirmation", "cs_test_link")))
    .state;
const oneTime = async (store: EventStore) =>
  (await planSubscriptions.read(store, nameBasedId("planSubscription", "cs_test_link"))).state;

Deno.test("a checkout without metadata finds its tier through Stripe's line items", async () => {
  const store = memoryEventStore();
  await sellTier(store, { unitAmount: 1000, interval: null, stripePriceId: PRICE });
  const stripe = lineItems([
    item({
      price: { ...(lineItem().price as Json), metadata: { nudges_price_tier_id: "tier-1" } },
    }),
  ]);
  const { deliver } = inboundPipeline({ store, gateway: stripe.gateway });
  await deliver(stripeEvent("checkout.session.completed", linkSession(), { created: T }));
  assert.deepEqual(stripe.asked, ["cs_test_link"]);
  const made = await oneTime(store);
  assert.deepEqual(made && [made.priceTierId, made.planId, made.status], [
    "tier-1",
    "plan-1",
    "active",
  ]);
  assert.equal((await payment(store))?.problem, null);
});

Deno.test("a line item's price Nudges has not seen is imported first, as price.created would", async () => {
  const store = memoryEventStore();
  const stripe = lineItems([item()]);
  const { deliver } = inboundPipeline({ store, gateway: stripe.gateway });
  await deliver(stripeEvent("product.created", product(), { created: T - 60 }));
  await deliver(stripeEvent("checkout.session.completed", linkSession(), { created: T }));
  const tierId = nameBasedId("priceTier", PRICE);
  assert.equal((await oneTime(store))?.priceTierId, tierId);
  assert.equal((await payment(store))?.priceTierId, tierId);
});

Deno.test("a checkout for a price Nudges does not sell records the payment, flagged, and no plan subscription", async () => {
  const store = memoryEventStore();
  const warnings: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (message) => warnings.push(message),
    error: () => {},
    with: () => logger,
  };
  const stripe = lineItems([item()]);
  const { post } = inboundPipeline({ store, gateway: stripe.gateway });
  const consume = inboundHandler({
    store,
    clock: () => new Date().toISOString(),
    gateway: stripe.gateway,
    logger,
  });
  await consume(
    await post(stripeEvent("checkout.session.completed", linkSession(), { created: T })),
  );
  const recorded = await payment(store);
  assert.deepEqual(recorded && [recorded.paymentStatus, recorded.problem?.code], [
    "paid",
    "UnknownPrice",
  ]);
  assert.equal(await oneTime(store), null);
  assert.ok(warnings.includes("checkout does not add up"), warnings.join());
});

Deno.test("an amount other than the tier's is flagged on the payment and logged", async () => {
  const store = memoryEventStore();
  await sellTier(store, { unitAmount: 2500, interval: null });
  const { deliver } = inboundPipeline({ store });
  const session = linkSession({
    metadata: { nudges_price_tier_id: "tier-1" },
    amount_subtotal: 1000,
  });
  await deliver(stripeEvent("checkout.session.completed", session, { created: T }));
  const recorded = await payment(store);
  assert.equal(recorded?.problem?.code, "AmountMismatch");
  assert.match(recorded?.problem?.message ?? "", /1000 usd.*costs 2500 usd/);
  assert.equal((await oneTime(store))?.status, "active");
});

Deno.test("charge.refunded sets the refunded total of the checkout's payment, whatever the order", async () => {
  const store = memoryEventStore();
  await sellTier(store, { unitAmount: 1000, interval: null });
  const { deliver } = inboundPipeline({ store });
  const session = linkSession({ metadata: { nudges_price_tier_id: "tier-1" } });
  await deliver(stripeEvent("checkout.session.completed", session, { created: T }));
  const refunded = (amount: number) =>
    charge({
      id: "ch_link",
      payment_intent: "pi_link",
      amount_refunded: amount,
      refunded: amount === 1000,
    });
  await deliver(stripeEvent("charge.refunded", refunded(1000), { created: T + 20 }));
  await deliver(stripeEvent("charge.refunded", refunded(400), { created: T + 10 }));
  assert.equal((await payment(store))?.amountRefunded, 1000);
  // A refund of a charge no checkout recorded changes nothing.
  await deliver(
    stripeEvent("charge.refunded", charge({ payment_intent: "pi_other", amount_refunded: 5 }), {
      created: T,
    }),
  );
  assert.equal((await payment(store))?.amountRefunded, 1000);
});

const withClient = async () => {
  const store = memoryEventStore();
  const at = "2026-03-01T09:00:00.000Z";
  await clients.handle(store, {
    type: "CreateClient",
    data: { clientId: "client-1", at, name: "Ada", email: "ada@example.com" },
  }, setupOptions());
  await clients.handle(store, {
    type: "LinkStripeCustomer",
    data: { clientId: "client-1", at, stripeCustomerId: "cus_QXg1o8vcGmoR32" },
  }, setupOptions());
  return inboundPipeline({ store });
};
const mine = (fields: Json = {}) =>
  customer({ metadata: { nudges_client_id: "client-1" }, ...fields });

Deno.test("customer.updated brings a name and email changed in Stripe; Nudges' own echo changes nothing", async () => {
  const { store, deliver } = await withClient();
  await deliver(
    stripeEvent("customer.updated", mine({ name: "Ada King", email: "ada@king.org" }), {
      created: T,
    }),
  );
  let client = (await clients.read(store, "client-1")).state;
  assert.deepEqual(client && [client.name, client.email], ["Ada King", "ada@king.org"]);
  const echo = mine({ name: "Old name" });
  await deliver(
    stripeEvent("customer.updated", echo, { created: T + 5, idempotencyKey: "nudges-e9" }),
  );
  client = (await clients.read(store, "client-1")).state;
  assert.equal(client?.name, "Ada King");
  await deliver(stripeEvent("customer.updated", mine({ name: "Older" }), { created: T - 5 }));
  assert.equal((await clients.read(store, "client-1")).state?.name, "Ada King");
});

Deno.test("customer.deleted marks the client's Stripe customer deleted", async () => {
  const { store, deliver } = await withClient();
  await deliver(stripeEvent("customer.deleted", mine({ deleted: true }), { created: T }));
  assert.equal((await clients.read(store, "client-1")).state?.stripeCustomerDeleted, true);
});
