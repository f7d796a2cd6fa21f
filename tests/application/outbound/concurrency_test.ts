// Outbound sync with several Stripe calls in flight (startOutbound's concurrency, from
// BUS_CONCURRENCY): as many as asked, never two for one object, and the breaker still
// stops every one of them.
import assert from "node:assert/strict";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { resilientGateway } from "../../../adapters/stripe/resilience.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import type { IncomingMessage } from "../../../application/ports/bus.ts";
import type { StripeGateway } from "../../../application/ports/stripe_gateway.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { plans, priceTiers } from "../../../application/shared/aggregates.ts";
import { startOutbound } from "../../../application/outbound/consumer.ts";
import { catalog, NOW } from "../../support/stripe_outbound_fixtures.ts";
import { startStripeStandIn } from "../../support/stripe_stand_in.ts";

const PLANS = 16;

const synced = async (store: EventStore, tiers = true) => {
  for (let i = 0; i < PLANS; i++) {
    if ((await plans.read(store, `plan-${i}`)).state?.syncStatus !== "SYNCED") return false;
    if (tiers && (await priceTiers.read(store, `tier-${i}`)).state?.syncStatus !== "SYNCED") {
      return false;
    }
  }
  return true;
};

const eventually = async (condition: () => Promise<boolean>, what: string) => {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** `gateway`, counting the calls in flight at most, and any two at once for one object. */
const watched = (gateway: StripeGateway) => {
  let inFlight = 0;
  let most = 0;
  const busy = new Set<string>();
  const overlaps: string[] = [];
  const watch =
    <A extends unknown[], R>(id: (...args: A) => string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const object = id(...args);
      if (busy.has(object)) overlaps.push(object);
      busy.add(object);
      most = Math.max(most, ++inFlight);
      try {
        return await call(...args);
      } finally {
        inFlight--;
        busy.delete(object);
      }
    };
  return {
    gateway: {
      ...gateway,
      createProduct: watch((p) => p.nudgesPlanId, gateway.createProduct),
      createPrice: watch((p) => p.nudgesPriceTierId, gateway.createPrice),
    } as StripeGateway,
    most: () => most,
    overlaps,
  };
};

const seed = async (store: EventStore) => {
  const nudges = catalog(store);
  const messages: IncomingMessage[] = [];
  for (let i = 0; i < PLANS; i++) messages.push(await nudges.createPlan(`plan-${i}`));
  for (let i = 0; i < PLANS; i++) messages.push(await nudges.createTier(`tier-${i}`, `plan-${i}`));
  return messages.map(({ topic, key, value, headers }) => ({ topic, key, value, headers }));
};

Deno.test("outbound runs up to `concurrency` Stripe calls at once, never two for one object", async () => {
  const stripe = startStripeStandIn({ latencyMs: 100 });
  const bus = sqliteBus({ path: ":memory:", pollMs: 20 });
  const store = memoryEventStore();
  const watch = watched(stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url }));
  const runner = await startOutbound({
    bus,
    deps: { store, gateway: watch.gateway, clock: () => NOW },
    concurrency: 8,
  });
  try {
    await bus.publish(await seed(store));
    await eventually(() => synced(store), "every plan and tier synced");
    // Two topics, each with its consumer: the plans' and the tiers' calls add up.
    assert.ok(watch.most() > 8 && watch.most() <= 16, `${watch.most()} calls at once`);
    assert.deepEqual(watch.overlaps, []);
    assert.equal(stripe.products.size, PLANS);
    assert.equal(stripe.prices.size, PLANS);
  } finally {
    await runner.stop();
    await bus.close();
    await stripe.close();
  }
});

Deno.test("with calls in flight, an open breaker still stops them all: none in the cooldown, nothing dead-lettered", async () => {
  const stripe = startStripeStandIn({ latencyMs: 20 });
  const resilient = resilientGateway(
    stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url }),
    { initialDelayMs: 5, halfOpenAfterMs: 300 },
  );
  const bus = sqliteBus({ path: ":memory:", pollMs: 20 });
  const store = memoryEventStore();
  const breaks: number[] = [];
  resilient.circuit.onBreak(() => breaks.push(performance.now()));
  const runner = await startOutbound({
    bus,
    deps: { store, gateway: resilient.gateway, clock: () => NOW },
    circuit: resilient.circuit,
    concurrency: 8,
    initialBackoffMs: 10,
    maxBackoffMs: 50,
    maxAttempts: 3,
  });
  try {
    stripe.failNext(12, { status: 503 });
    await bus.publish((await seed(store)).slice(0, PLANS)); // the plans
    await eventually(() => synced(store, false), "every plan synced");
    assert.ok(breaks.length >= 1);
    // Calls already on their way when it opened may land just after; none starts later.
    for (const at of breaks) {
      const during = stripe.requests.filter((r) => r.at > at + 10 && r.at < at + 290);
      assert.deepEqual(during.map((r) => r.path), [], "calls reached Stripe while it was open");
    }
    assert.equal(stripe.products.size, PLANS, "each plan made once");
    assert.equal(resilient.circuit.state(), "closed");
  } finally {
    await runner.stop();
    await bus.close();
    resilient.dispose();
    await stripe.close();
  }
});
