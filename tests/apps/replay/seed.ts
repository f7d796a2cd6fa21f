// A DATA_DIR for replay tests: events written through the real command handler into the
// real SQLite store, a minute apart, and the product API's read model projected from them.
import { join } from "node:path";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { sqliteReadModel } from "../../../adapters/readmodel/sqlite.ts";
import { type Clock } from "../../../application/ports/clock.ts";
import { sequentialIds, steppingClock } from "../../support/clocks.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { Cause, EventStore } from "../../../application/ports/event_store.ts";
import { recordStripeWebhook } from "../../../application/inbound/webhook_record.ts";
import { startProjector } from "../../../application/projections/projector.ts";
import type { Decider } from "../../../domain/decider.ts";
import { clientDecider, clientStream } from "../../../domain/client.ts";
import {
  paymentConfirmationDecider,
  paymentConfirmationStream,
} from "../../../domain/payment_confirmation.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";
import {
  planSubscriptionDecider,
  planSubscriptionStream,
} from "../../../domain/plan_subscription.ts";
import { priceTierDecider, priceTierStream } from "../../../domain/price_tier.ts";
import { product, stripeEvent } from "../../support/webhook_fixtures.ts";
import { EVENTS_FILE } from "../../../apps/replay/stores.ts";

export const START = "2025-01-15T10:00:00.000Z";
/** recordedAt of the n-th event written (from 0): one minute apart. */
export const minute = (n: number) => new Date(Date.parse(START) + n * 60_000).toISOString();

export const IDS = {
  plan: "11111111-1111-4111-8111-111111111111",
  deletedPlan: "22222222-2222-4222-8222-222222222222",
  tier: "33333333-3333-4333-8333-333333333333",
  client: "44444444-4444-4444-8444-444444444444",
  payment: "55555555-5555-4555-8555-555555555555",
  subscription: "66666666-6666-4666-8666-666666666666",
  stripeEvent: "evt_replay_1",
};

const graphql = (requestId: string, operation: string): Cause => ({
  kind: "graphql",
  requestId,
  operation,
});
const stripe = (stripeEventId: string, stripeEventType: string): Cause => ({
  kind: "stripe",
  stripeEventId,
  stripeEventType,
});

/** Runs one command as a request (its id the correlation and causation) would. */
const command = <C, E extends { type: string; data: unknown }, S>(
  store: EventStore,
  clock: Clock,
) =>
async (
  decider: Decider<C, E, S>,
  streamId: string,
  make: (at: string) => C,
  cause: Cause,
  correlationId: string,
) => {
  await handleCommand(store, decider, streamId, make(clock()), {
    metadata: { correlationId, causationId: correlationId, cause },
    newEventId: sequentialIds(`${correlationId}-event`),
  });
};

/** The read-model file of the product API on `port`, as apps/product_api/main.ts names it. */
export const readModelFile = (dir: string, port = 4000) => join(dir, `read_model-${port}.sqlite`);

/**
 * Writes the scenario's 12 events (recordedAt minute(0) … minute(11)) into DATA_DIR `dir`.
 * The read models of product APIs on `ports` are projected from them and stored there too.
 */
export const seed = async (dir: string, { ports = [4000] } = {}): Promise<void> => {
  const store = sqliteEventStore(join(dir, EVENTS_FILE), { clock: steppingClock(START, 60_000) });
  const at = steppingClock(START, 60_000);
  // deno-lint-ignore no-explicit-any
  const run = command<any, any, any>(store, at);
  const { plan, deletedPlan, tier, client, payment, subscription } = IDS;
  await run(
    planDecider,
    planStream(plan),
    (at) => ({
      type: "CreatePlan",
      data: { planId: plan, at, name: "Basic", description: "For small teams", iconUrl: null },
    }),
    graphql("req-1", "createPlan"),
    "req-1",
  );
  await run(
    planDecider,
    planStream(plan),
    (at) => ({
      type: "UpdatePlan",
      data: { planId: plan, at, name: "Pro" },
    }),
    graphql("req-2", "updatePlan"),
    "req-2",
  );
  await run(
    planDecider,
    planStream(plan),
    (at) => ({
      type: "LinkStripeProduct",
      data: { planId: plan, at, stripeProductId: "prod_replay" },
    }),
    { kind: "bus", topic: "nudges.plans", partition: 0, offset: "7" },
    "req-1",
  );
  await run(
    priceTierDecider,
    priceTierStream(tier),
    (at) => ({
      type: "CreatePriceTier",
      data: {
        priceTierId: tier,
        at,
        planId: plan,
        name: "Monthly",
        unitAmount: 1900,
        currency: "usd",
        interval: "month",
        intervalCount: 1,
      },
    }),
    graphql("req-3", "createPriceTier"),
    "req-3",
  );
  await run(
    planDecider,
    planStream(deletedPlan),
    (at) => ({
      type: "CreatePlan",
      data: { planId: deletedPlan, at, name: "Legacy", description: null, iconUrl: null },
    }),
    graphql("req-4", "createPlan"),
    "req-4",
  );
  await run(
    planDecider,
    planStream(deletedPlan),
    (at) => ({
      type: "DeletePlan",
      data: { planId: deletedPlan, at },
    }),
    graphql("req-5", "deletePlan"),
    "req-5",
  );
  await run(
    clientDecider,
    clientStream(client),
    (at) => ({
      type: "CreateClient",
      data: { clientId: client, at, name: "Ada", email: "ada@example.com" },
    }),
    graphql("req-6", "createClient"),
    "req-6",
  );
  await run(
    clientDecider,
    clientStream(client),
    (at) => ({
      type: "LinkStripeCustomer",
      data: { clientId: client, at, stripeCustomerId: "cus_replay" },
    }),
    { kind: "system", reason: "outbound sync" },
    "req-6",
  );
  // The Stripe event that caused the next two, as the webhook endpoint records it.
  at();
  await recordStripeWebhook(
    store,
    stripeEvent("product.updated", product({ id: "prod_replay" }), { id: IDS.stripeEvent }),
  );
  await run(
    paymentConfirmationDecider,
    paymentConfirmationStream(payment),
    (at) => ({
      type: "RecordCheckoutPayment",
      data: {
        paymentConfirmationId: payment,
        at,
        stripeEventId: "evt_checkout",
        stripeEventCreated: Date.parse(at) / 1000,
        stripeCheckoutSessionId: "cs_replay",
        clientId: client,
        planId: plan,
        priceTierId: tier,
        amountTotal: 1900,
        currency: "usd",
        paymentStatus: "paid",
      },
    }),
    stripe("evt_checkout", "checkout.session.completed"),
    "evt_checkout",
  );
  await run(
    planSubscriptionDecider,
    planSubscriptionStream(subscription),
    (at) => ({
      type: "StartPlanSubscription",
      data: {
        planSubscriptionId: subscription,
        at,
        clientId: client,
        planId: plan,
        priceTierId: tier,
        stripeSubscriptionId: "sub_replay",
        stripeCustomerId: "cus_replay",
        paymentConfirmationId: payment,
        status: "active",
      },
    }),
    stripe("evt_checkout", "checkout.session.completed"),
    "evt_checkout",
  );
  await run(
    planDecider,
    planStream(plan),
    (at) => ({
      type: "UpdatePlan",
      data: { planId: plan, at, description: "For growing teams" },
    }),
    graphql("req-7", "updatePlan"),
    "req-7",
  );
  try {
    for (const port of ports) await projectReadModel(store, readModelFile(dir, port));
  } finally {
    await store.close();
  }
};

/** What the product API does on start: project every event into its read-model file. */
const projectReadModel = async (store: EventStore, path: string) => {
  const [last] = (await store.readAll({ limit: 1_000 })).slice(-1);
  const readModel = sqliteReadModel(path);
  const projector = startProjector({ store, readModel });
  try {
    if (!await projector.waitFor(last?.position ?? 0, 10_000)) {
      throw new Error("the read model did not catch up");
    }
  } finally {
    await projector.stop();
    readModel.close();
  }
};

/** Appends more events after the read model was stored: a read model that lags. */
export const appendLater = async (dir: string) => {
  const store = sqliteEventStore(join(dir, EVENTS_FILE), { clock: () => minute(30) });
  try {
    // deno-lint-ignore no-explicit-any
    await command<any, any, any>(store, () => minute(30))(
      planDecider,
      planStream(IDS.plan),
      (at) => ({ type: "UpdatePlan", data: { planId: IDS.plan, at, name: "Pro Plus" } }),
      graphql("req-8", "updatePlan"),
      "req-8",
    );
  } finally {
    await store.close();
  }
};
