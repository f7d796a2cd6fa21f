import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { type PlanChanges, planDecider, planStream } from "../../../domain/plan.ts";
import { epochSecond } from "../../../domain/stripe_time.ts";
import { PermanentFailure } from "../../../application/ports/bus.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { TOPICS } from "../../../application/shared/integration_events.ts";
import { outboundHandler } from "../../../application/outbound/handler.ts";
import { clients, plans, priceTiers } from "../../../application/shared/aggregates.ts";
import { NotInStripeYet } from "../../../application/outbound/stripe_call.ts";
import { TransientStripeError } from "../../../application/ports/stripe_gateway.ts";
import { catalog, messageOf, NOW } from "../../support/stripe_outbound_fixtures.ts";
import { startStripeStandIn, type StripeStandIn } from "../../support/stripe_stand_in.ts";

type World = {
  store: EventStore;
  stripe: StripeStandIn;
  nudges: ReturnType<typeof catalog>;
  handle: ReturnType<typeof outboundHandler>;
};

const world = (test: (w: World) => Promise<void>) => async () => {
  const store = memoryEventStore();
  const stripe = startStripeStandIn();
  try {
    const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url });
    const handle = outboundHandler({ store, gateway, clock: () => NOW });
    await test({ store, stripe, nudges: catalog(store), handle });
  } finally {
    await stripe.close();
  }
};

const planOf = async (store: EventStore, id: string) => (await plans.read(store, id)).state;
const tierOf = async (store: EventStore, id: string) => (await priceTiers.read(store, id)).state;
const clientOf = async (store: EventStore, id: string) => (await clients.read(store, id)).state;
const eventIdOf = (message: { value: string }) => JSON.parse(message.value).eventId as string;

/** Someone edits the product in the Dashboard, and its webhook is applied to the plan. */
const dashboardEdit = async (
  { store, stripe }: World,
  planId: string,
  edit: Pick<PlanChanges, "name" | "description"> | "deleted",
) => {
  const productId = (await planOf(store, planId))!.stripeProductId!;
  const data = {
    planId,
    at: NOW,
    stripeEventId: `evt_dashboard_${crypto.randomUUID()}`,
    stripeEventCreated: epochSecond(NOW) + 60,
  };
  if (edit === "deleted") stripe.products.delete(productId);
  else Object.assign(stripe.products.get(productId)!, edit);
  await handleCommand(
    store,
    planDecider,
    planStream(planId),
    edit === "deleted"
      ? { type: "ApplyStripeProductDeletion", data }
      : { type: "ApplyStripeProductChange", data: { ...data, ...edit } },
    {
      metadata: {
        correlationId: "dashboard",
        causationId: "dashboard",
        cause: { kind: "stripe", stripeEventId: data.stripeEventId, stripeEventType: "product" },
      },
      newEventId: () => crypto.randomUUID(),
    },
  );
  return productId;
};

Deno.test(
  "PlanCreatedEvent creates one Stripe product and links the plan to it",
  world(async ({ store, stripe, nudges, handle }) => {
    const message = await nudges.createPlan("plan-1", {
      name: "Gold",
      description: "Everything",
      iconUrl: "https://cdn.example.com/gold.png",
    });
    await handle(message);

    const [product, ...others] = [...stripe.products.values()];
    assert.equal(others.length, 0);
    assert.equal(product?.name, "Gold");
    assert.equal(product?.description, "Everything");
    assert.deepEqual(product?.images, ["https://cdn.example.com/gold.png"]);
    assert.equal(product?.active, true);
    assert.deepEqual(product?.metadata, { nudges_plan_id: "plan-1" });
    assert.equal(stripe.requests[0]?.idempotencyKey, `nudges-${eventIdOf(message)}`);

    const plan = await planOf(store, "plan-1");
    assert.equal(plan?.stripeProductId, product?.id);
    assert.equal(plan?.syncStatus, "SYNCED");
    const link = (await store.readStream(planStream("plan-1"))).at(-1)!;
    assert.equal(link.type, "StripeProductLinked");
    assert.equal(link.metadata.causationId, eventIdOf(message));
    assert.equal(link.metadata.correlationId, `corr-${eventIdOf(message)}`);
    assert.deepEqual(link.metadata.cause, {
      kind: "bus",
      topic: TOPICS.plans,
      partition: 0,
      offset: message.offset,
      messageId: eventIdOf(message),
    });
  }),
);

Deno.test(
  "a redelivered PlanCreatedEvent calls Stripe no more and records nothing more",
  world(async ({ store, stripe, nudges, handle }) => {
    const message = await nudges.createPlan("plan-1");
    await handle(message);
    const events = await store.readAll();
    await handle(message);
    await handle(message);
    assert.equal(stripe.requests.length, 1);
    assert.equal(stripe.products.size, 1);
    assert.deepEqual(await store.readAll(), events);
  }),
);

Deno.test(
  "PlanUpdatedEvent and PlanDeletedEvent change the linked product",
  world(async ({ stripe, nudges, handle }) => {
    await handle(await nudges.createPlan("plan-1", { iconUrl: "https://cdn.example.com/a.png" }));
    const [productId] = [...stripe.products.keys()];
    const update = await nudges.updatePlan("plan-1", { name: "Platinum", description: null });
    await handle(update);
    assert.equal(stripe.requests.at(-1)?.idempotencyKey, `nudges-${eventIdOf(update)}`);
    let product = stripe.products.get(productId!)!;
    assert.equal(product.name, "Platinum");
    assert.equal(product.description, null);
    assert.deepEqual(product.images, ["https://cdn.example.com/a.png"]);

    await handle(await nudges.updatePlan("plan-1", { iconUrl: null, isActive: false }));
    product = stripe.products.get(productId!)!;
    assert.deepEqual(product.images, []);
    assert.equal(product.active, false);

    await handle(await nudges.updatePlan("plan-1", { isActive: true }));
    assert.equal(stripe.products.get(productId!)!.active, true);
    await handle(await nudges.deletePlan("plan-1"));
    assert.equal(stripe.products.get(productId!)!.active, false);
    assert.equal(stripe.products.size, 1);
  }),
);

Deno.test(
  "a delayed PlanUpdatedEvent does not overwrite a newer Dashboard edit",
  world(async (w) => {
    const { store, stripe, nudges, handle } = w;
    await handle(await nudges.createPlan("plan-1", { name: "Gold" }));
    // Stripe is out of reach for a while (breaker open, backlog), so the rename waits.
    const renamed = await nudges.updatePlan("plan-1", { name: "A" });
    const productId = await dashboardEdit(w, "plan-1", { name: "B" });
    const before = await store.readAll();
    const calls = stripe.requests.length;

    await handle(renamed);
    await handle(renamed);
    assert.equal(stripe.products.get(productId)?.name, "B");
    assert.equal((await planOf(store, "plan-1"))?.name, "B");
    assert.equal(stripe.requests.length, calls);
    assert.deepEqual(await store.readAll(), before);
  }),
);

Deno.test(
  "a delayed PlanUpdatedEvent sends only the fields not changed since, under a key of their own",
  world(async (w) => {
    const { store, stripe, nudges, handle } = w;
    await handle(await nudges.createPlan("plan-1", { name: "Gold", description: "Old" }));
    const updated = await nudges.updatePlan("plan-1", { name: "A", description: "New" });
    const productId = await dashboardEdit(w, "plan-1", { name: "B" });
    await handle(updated);
    await handle(updated);

    const product = stripe.products.get(productId)!;
    const plan = (await planOf(store, "plan-1"))!;
    assert.deepEqual([product.name, product.description], ["B", "New"]);
    assert.deepEqual([plan.name, plan.description], ["B", "New"]);
    assert.equal(plan.syncStatus, "SYNCED");
    const [call, again] = stripe.requests.slice(-2);
    assert.equal(call?.params.name, undefined);
    assert.notEqual(call?.idempotencyKey, `nudges-${eventIdOf(updated)}`);
    assert.equal(again?.idempotencyKey, call?.idempotencyKey);
    assert.equal(again?.replayed, true);
  }),
);

Deno.test(
  "a retried PlanUpdatedEvent that lost fields to a Dashboard edit meanwhile is not refused by Stripe",
  world(async (w) => {
    const { store, stripe, nudges, handle } = w;
    await handle(await nudges.createPlan("plan-1", { name: "Gold", description: "Old" }));
    const updated = await nudges.updatePlan("plan-1", { name: "A", description: "New" });
    // Stripe stores the whole call under its key, but its answer is lost on the way.
    stripe.failNext(1, { drop: true, executed: true });
    await assert.rejects(handle(updated), TransientStripeError);
    const productId = await dashboardEdit(w, "plan-1", { name: "B" });
    await handle(updated);

    assert.equal(stripe.requests.at(-1)?.status, 200);
    assert.equal(stripe.products.get(productId)?.name, "B");
    const plan = (await planOf(store, "plan-1"))!;
    assert.deepEqual([plan.name, plan.description, plan.syncStatus], ["B", "New", "SYNCED"]);
  }),
);

Deno.test(
  "a delayed PlanUpdatedEvent for a product deleted in the Dashboard since calls Stripe no more",
  world(async (w) => {
    const { store, stripe, nudges, handle } = w;
    await handle(await nudges.createPlan("plan-1"));
    const updated = await nudges.updatePlan("plan-1", { name: "A" });
    await dashboardEdit(w, "plan-1", "deleted");
    const calls = stripe.requests.length;
    await handle(updated);
    assert.equal(stripe.requests.length, calls);
    const plan = (await planOf(store, "plan-1"))!;
    assert.deepEqual([plan.deleted, plan.syncStatus], [true, "SYNCED"]);
  }),
);

Deno.test(
  "a PlanUpdatedEvent whose event is not in the plan's stream is refused and sends nothing",
  world(async ({ stripe, nudges, handle }) => {
    await handle(await nudges.createPlan("plan-1"));
    const calls = stripe.requests.length;
    const updated = await nudges.updatePlan("plan-1", { name: "A" });
    const stranger = { ...JSON.parse(updated.value), eventId: "ev-not-in-the-stream" };
    await assert.rejects(
      handle(messageOf(TOPICS.plans, "plan-1", stranger)),
      (error: Error) =>
        error instanceof PermanentFailure &&
        /event ev-not-in-the-stream is not in the stream of plan plan-1/.test(error.message),
    );
    assert.equal(stripe.requests.length, calls);
  }),
);

Deno.test(
  "PriceTierCreatedEvent creates a price under the plan's product and links the tier",
  world(async ({ store, stripe, nudges, handle }) => {
    await handle(await nudges.createPlan("plan-1"));
    const [productId] = [...stripe.products.keys()];
    await handle(
      await nudges.createTier("tier-1", "plan-1", {
        name: "Quarterly",
        unitAmount: 4500,
        currency: "usd",
        interval: "month",
        intervalCount: 3,
      }),
    );
    await handle(
      await nudges.createTier("tier-2", "plan-1", {
        name: null,
        unitAmount: 9900,
        interval: null,
        intervalCount: null,
      }),
    );

    const [quarterly, once] = [...stripe.prices.values()];
    assert.equal(quarterly?.product, productId);
    assert.equal(quarterly?.unit_amount, 4500);
    assert.equal(quarterly?.currency, "usd");
    assert.equal(quarterly?.nickname, "Quarterly");
    assert.deepEqual(
      { ...quarterly?.recurring as object },
      { ...quarterly?.recurring as object, interval: "month", interval_count: 3 },
    );
    assert.deepEqual(quarterly?.metadata, {
      nudges_price_tier_id: "tier-1",
      nudges_plan_id: "plan-1",
    });
    assert.equal(once?.recurring, null);
    assert.equal(once?.nickname, null);
    assert.equal((await tierOf(store, "tier-1"))?.stripePriceId, quarterly?.id);
    assert.equal((await tierOf(store, "tier-2"))?.syncStatus, "SYNCED");
  }),
);

Deno.test(
  "PriceTierCreatedEvent waits for its plan's product and never creates one itself",
  world(async ({ store, stripe, nudges, handle }) => {
    const planCreated = await nudges.createPlan("plan-1");
    const tierCreated = await nudges.createTier("tier-1", "plan-1");
    await assert.rejects(handle(tierCreated), NotInStripeYet);
    assert.equal(stripe.requests.length, 0);
    assert.equal((await tierOf(store, "tier-1"))?.syncStatus, "PENDING");

    await handle(planCreated);
    await handle(tierCreated);
    assert.equal(stripe.products.size, 1);
    assert.equal(stripe.prices.size, 1);
    assert.equal((await tierOf(store, "tier-1"))?.syncStatus, "SYNCED");
  }),
);

Deno.test(
  "a refusal marks the object FAILED with Stripe's message, once",
  world(async ({ store, stripe, nudges, handle }) => {
    await handle(await nudges.createPlan("plan-1"));
    const tierCreated = await nudges.createTier("tier-1", "plan-1", { currency: "xyz" });
    await handle(tierCreated);
    const tier = await tierOf(store, "tier-1");
    assert.equal(tier?.syncStatus, "FAILED");
    assert.match(tier?.syncError ?? "", /^Invalid currency: xyz/);

    const events = await store.readAll();
    await handle(tierCreated);
    assert.deepEqual(await store.readAll(), events);
    assert.equal(stripe.requests.length, 2);
    assert.equal(stripe.prices.size, 0);
  }),
);

Deno.test(
  "a tier of a plan that Stripe refused is marked FAILED without calling Stripe",
  world(async ({ store, stripe, nudges, handle }) => {
    stripe.failNext(1, { status: 400, message: "Not a valid URL", code: "url_invalid" });
    await handle(await nudges.createPlan("plan-1", { iconUrl: "https://x.example/a.png" }));
    assert.equal((await planOf(store, "plan-1"))?.syncError, "Not a valid URL");
    await handle(await nudges.createTier("tier-1", "plan-1"));
    const tier = await tierOf(store, "tier-1");
    assert.equal(tier?.syncStatus, "FAILED");
    assert.equal(tier?.syncError, "plan plan-1 could not be created in Stripe: Not a valid URL");
    assert.equal(stripe.requests.length, 1);
  }),
);

Deno.test(
  "an update Stripe takes after a refused one makes the plan SYNCED again",
  world(async ({ store, stripe, nudges, handle }) => {
    await handle(await nudges.createPlan("plan-1"));
    stripe.failNext(1, { status: 400, message: "Not a valid URL", code: "url_invalid" });
    await handle(await nudges.updatePlan("plan-1", { iconUrl: "https://x.example/a.png" }));
    const refused = await planOf(store, "plan-1");
    assert.equal(refused?.syncStatus, "FAILED");
    assert.equal(refused?.syncError, "Not a valid URL");

    await handle(await nudges.updatePlan("plan-1", { name: "Gold" }));
    const plan = await planOf(store, "plan-1");
    assert.equal(plan?.syncStatus, "SYNCED");
    assert.equal(plan?.syncError, null);
    assert.equal([...stripe.products.values()][0]?.name, "Gold");
  }),
);

Deno.test(
  "PriceTierDeletedEvent archives the tier's price",
  world(async ({ stripe, nudges, handle }) => {
    await handle(await nudges.createPlan("plan-1"));
    await handle(await nudges.createTier("tier-1", "plan-1"));
    const [priceId] = [...stripe.prices.keys()];
    await handle(await nudges.deleteTier("tier-1", "plan-1"));
    assert.equal(stripe.prices.get(priceId!)?.active, false);
    assert.equal(stripe.prices.size, 1);
  }),
);

Deno.test(
  "ClientCreatedEvent creates a customer and links the client",
  world(async ({ store, stripe, nudges, handle }) => {
    const message = await nudges.createClient("client-1", "Ada Lovelace", "ada@example.com");
    await handle(message);
    await handle(message);
    const [customer, ...others] = [...stripe.customers.values()];
    assert.equal(others.length, 0);
    assert.equal(customer?.email, "ada@example.com");
    assert.equal(customer?.name, "Ada Lovelace");
    assert.deepEqual(customer?.metadata, { nudges_client_id: "client-1" });
    const client = await clientOf(store, "client-1");
    assert.equal(client?.stripeCustomerId, customer?.id);
    assert.equal(client?.syncStatus, "SYNCED");
  }),
);

Deno.test(
  "ClientUpdatedEvent sends the new name and email to the client's customer",
  world(async ({ store, stripe, nudges, handle }) => {
    await handle(await nudges.createClient("client-1", "Ada Lovelace", "ada@example.com"));
    const updated = await nudges.updateClient("client-1", {
      name: "Ada King",
      email: "ada@king.org",
    });
    await handle(updated);
    await handle(updated);
    const customerId = (await clientOf(store, "client-1"))!.stripeCustomerId!;
    const customer = stripe.customers.get(customerId);
    assert.deepEqual([customer?.name, customer?.email], ["Ada King", "ada@king.org"]);
    const updates = stripe.requests.filter((r) => r.path === `/v1/customers/${customerId}`);
    assert.equal(new Set(updates.map((r) => r.idempotencyKey)).size, 1);
    assert.equal(stripe.customers.size, 1);
  }),
);

Deno.test(
  "a delayed ClientUpdatedEvent sends only the fields no later change set again",
  world(async ({ store, stripe, nudges, handle }) => {
    await handle(await nudges.createClient("client-1", "Ada Lovelace", "ada@example.com"));
    const first = await nudges.updateClient("client-1", { name: "Ada King", email: "a@king.org" });
    const second = await nudges.updateClient("client-1", { email: "b@king.org" });
    await handle(first);
    const customerId = (await clientOf(store, "client-1"))!.stripeCustomerId!;
    assert.deepEqual(stripe.requests.at(-1)?.params, { name: "Ada King" });
    await handle(second);
    const customer = stripe.customers.get(customerId);
    assert.deepEqual([customer?.name, customer?.email], ["Ada King", "b@king.org"]);
  }),
);

Deno.test(
  "a ClientUpdatedEvent whose event is not in the client's stream is refused and sends nothing",
  world(async ({ stripe, nudges, handle }) => {
    await handle(await nudges.createClient("client-1"));
    const calls = stripe.requests.length;
    const updated = await nudges.updateClient("client-1", { name: "Ada King" });
    const stranger = { ...JSON.parse(updated.value), eventId: "ev-not-in-the-stream" };
    await assert.rejects(
      handle(messageOf(TOPICS.clients, "client-1", stranger)),
      (error: Error) =>
        error instanceof PermanentFailure &&
        /event ev-not-in-the-stream is not in the stream of client client-1/.test(error.message),
    );
    assert.equal(stripe.requests.length, calls);
  }),
);

Deno.test(
  "a ClientUpdatedEvent before the client has a customer waits for it: retried, nothing sent",
  world(async ({ stripe, nudges, handle }) => {
    const created = await nudges.createClient("client-1");
    const updated = await nudges.updateClient("client-1", { name: "Ada King" });
    await assert.rejects(handle(updated), NotInStripeYet);
    assert.equal(stripe.requests.length, 0);
    await handle(created);
    await handle(updated);
    assert.equal([...stripe.customers.values()][0]?.name, "Ada King");
  }),
);

Deno.test(
  "a transient fault leaves the message to be retried and records nothing",
  world(async ({ store, stripe, nudges, handle }) => {
    const message = await nudges.createPlan("plan-1");
    const before = await store.readAll();
    stripe.failNext(1, { status: 503 });
    await assert.rejects(handle(message), TransientStripeError);
    assert.deepEqual(await store.readAll(), before);
    await handle(message);
    assert.equal(stripe.products.size, 1);
    assert.equal((await planOf(store, "plan-1"))?.syncStatus, "SYNCED");
  }),
);

Deno.test(
  "a message that is not a valid integration event is refused and changes nothing",
  world(async ({ store, stripe, nudges, handle }) => {
    const good = await nudges.createPlan("plan-1");
    const before = await store.readAll();
    const broken = [
      { ...good, value: "{not json" },
      { ...good, value: JSON.stringify({ ...JSON.parse(good.value), data: { name: "No id" } }) },
      { ...good, value: JSON.stringify({ ...JSON.parse(good.value), type: "PlanRenamedEvent" }) },
    ];
    for (const message of broken) {
      const refused = await handle(message).catch((e) => e);
      assert.ok(refused instanceof PermanentFailure, String(refused));
      assert.ok(refused.message.includes(`${TOPICS.plans}/0@${good.offset}`), refused.message);
    }
    const unknownPlan = messageOf(TOPICS.plans, "plan-9", {
      ...JSON.parse(good.value),
      data: { ...JSON.parse(good.value).data, planId: "plan-9" },
    });
    await assert.rejects(handle(unknownPlan), /plan plan-9 is not in the event store/);
    assert.equal(stripe.requests.length, 0);
    assert.deepEqual(await store.readAll(), before);
  }),
);

Deno.test(
  "messages meant for other consumers are let through untouched",
  world(async ({ stripe, handle }) => {
    await handle(messageOf(TOPICS.plans, "plan-1", {
      type: "StripeProductCreatedEvent",
      version: 1,
      eventId: "e-1",
      occurredAt: NOW,
      data: { planId: "plan-1", stripeProductId: "prod_1" },
    }));
    assert.equal(stripe.requests.length, 0);
  }),
);
