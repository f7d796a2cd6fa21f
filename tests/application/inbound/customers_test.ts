import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { PermanentFailure } from "../../../application/ports/bus.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { customerOwnerStream } from "../../../application/inbound/owners.ts";
import { clientDecider, clientStream } from "../../../domain/client.ts";
import {
  planSubscriptionDecider,
  planSubscriptionStream,
} from "../../../domain/plan_subscription.ts";
import {
  domainEvents,
  inboundPipeline,
  sellTier,
  setupOptions,
  stateOf,
} from "../../support/inbound_pipeline.ts";
import {
  checkoutSession,
  customer,
  NOW_SECONDS,
  stripeEvent,
} from "../../support/webhook_fixtures.ts";

const T = NOW_SECONDS - 600;
const meta = setupOptions();

const newClient = (store: EventStore, clientId: string) =>
  handleCommand(store, clientDecider, clientStream(clientId), {
    type: "CreateClient",
    data: { clientId, at: "2026-03-01T11:00:00.000Z", name: "Ada", email: "ada@example.com" },
  }, meta);

/** `store`, refusing to be read whole: what a lookup by id must not need. */
const withoutScans = (store: EventStore): EventStore => ({
  ...store,
  readAll: () => Promise.reject(new Error("read the whole store")),
});

Deno.test("customer.created from Nudges lets a checkout that names only the customer find its client", async () => {
  const store = memoryEventStore();
  const { post, deliver } = inboundPipeline({ store });
  await newClient(store, "client-7");
  const made = customer({ id: "cus_7", metadata: { nudges_client_id: "client-7" } });
  await deliver(
    stripeEvent("customer.created", made, { created: T, idempotencyKey: "nudges-e-7" }),
  );

  await sellTier(store);
  const session = checkoutSession({
    id: "cs_test_7",
    customer: "cus_7",
    payment_status: "paid",
    metadata: { nudges_price_tier_id: "tier-1" },
  });
  const checkout = await post(stripeEvent("checkout.session.completed", session, { created: T }));
  await inboundPipeline({ store: withoutScans(store) }).consume(checkout);
  const subscription = await stateOf(
    store,
    planSubscriptionDecider,
    planSubscriptionStream(nameBasedId("planSubscription", "cs_test_7")),
  );
  assert.equal(subscription?.clientId, "client-7");
  assert.equal(subscription?.stripeCustomerId, "cus_7");
});

Deno.test("customer.created without Nudges metadata changes nothing", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("customer.created", customer(), { created: T }));
  assert.deepEqual(await domainEvents(store), []);
  assert.deepEqual(await store.readStream(customerOwnerStream(String(customer().id))), []);
});

Deno.test("customer.created naming a client that does not exist is dead-lettered", async () => {
  const { store, deliver } = inboundPipeline();
  const stray = customer({ id: "cus_9", metadata: { nudges_client_id: "ghost" } });
  await assert.rejects(
    deliver(stripeEvent("customer.created", stray, { created: T })),
    (error: Error) => error instanceof PermanentFailure && /ghost/.test(error.message),
  );
  assert.deepEqual(await store.readStream(customerOwnerStream("cus_9")), []);
});
