// Reconcile throughput: 10,000 Stripe objects (PRODUCTS products, as many prices, CUSTOMERS
// customers) against a Stripe stand-in that answers in LATENCY_MS and allows LIMIT
// requests/s (429 beyond), through the SDK and the resilience wrapper throttled at LIMIT.
// Two runs: everything in line, and 10 % drifted (products renamed in the Dashboard,
// products made in the Dashboard, clients never pushed). Nudges is an in-memory store.
// Prints what docs/benchmarks.md "## Reconcile" shows.
//   deno task bench tests/application/reconcile/reconcile_bench.ts
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { resilientGateway } from "../../../adapters/stripe/resilience.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { reconcile } from "../../../application/reconcile/run.ts";
import { clients, plans, priceTiers } from "../../../application/shared/aggregates.ts";
import { reconcileDeps } from "../../support/reconcile_fixtures.ts";
import { startStripeStandIn, type StripeStandIn } from "../../support/stripe_stand_in.ts";
import shapes from "../../support/fixtures/stripe_objects.json" with { type: "json" };

const env = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const PRODUCTS = env("RECONCILE_BENCH_PRODUCTS", 4000);
const CUSTOMERS = env("RECONCILE_BENCH_CUSTOMERS", 2000);
const LIMIT = env("RECONCILE_BENCH_RPS", 100);
const LATENCY_MS = env("RECONCILE_BENCH_LATENCY_MS", 300);
const DRIFT = 0.1;

const metadata = {
  correlationId: "bench",
  causationId: "bench",
  cause: { kind: "system", reason: "bench" },
} as const;
const options = { metadata };
const AT = new Date(Date.now() - 3_600_000).toISOString();
const EARLIER = Math.floor(Date.parse(AT) / 1000) - 60;
/** Objects made over the last two years, one after another, as an account grows. */
const createdAt = (i: number, of: number) => EARLIER - Math.round((of - i) * 2 * 365 * 86_400 / of);

/**
 * Both sides in line: plans with their products, tiers with their prices, clients with
 * customers; but the first `dashboard` products and their prices are Stripe's alone.
 */
const seed = async (store: EventStore, standIn: StripeStandIn, dashboard = 0) => {
  for (let i = 0; i < PRODUCTS; i++) {
    const planId = crypto.randomUUID();
    const priceTierId = crypto.randomUUID();
    const productId = `prod_bench${i}`;
    const priceId = `price_bench${i}`;
    const name = `Plan ${i}`;
    standIn.products.set(productId, {
      ...shapes.product,
      id: productId,
      name,
      description: null,
      images: [],
      active: true,
      metadata: i < dashboard ? {} : { nudges_plan_id: planId },
      created: createdAt(i, PRODUCTS),
      updated: EARLIER,
    });
    standIn.prices.set(priceId, {
      ...shapes.price,
      id: priceId,
      product: productId,
      nickname: "Monthly",
      unit_amount: 1000 + i,
      currency: "usd",
      active: true,
      recurring: { ...shapes.price.recurring, interval: "month", interval_count: 1 },
      metadata: i < dashboard ? {} : { nudges_price_tier_id: priceTierId, nudges_plan_id: planId },
      created: createdAt(i, PRODUCTS),
    });
    if (i < dashboard) continue;
    await plans.handle(store, {
      type: "CreatePlan",
      data: { planId, at: AT, name, description: null, iconUrl: null },
    }, options);
    await plans.handle(store, {
      type: "LinkStripeProduct",
      data: { planId, at: AT, stripeProductId: productId },
    }, options);
    await priceTiers.handle(store, {
      type: "CreatePriceTier",
      data: {
        priceTierId,
        at: AT,
        planId,
        name: "Monthly",
        unitAmount: 1000 + i,
        currency: "usd",
        interval: "month",
        intervalCount: 1,
      },
    }, options);
    await priceTiers.handle(store, {
      type: "LinkStripePrice",
      data: { priceTierId, at: AT, stripePriceId: priceId },
    }, options);
  }
  for (let i = 0; i < CUSTOMERS; i++) {
    const clientId = crypto.randomUUID();
    const customerId = `cus_bench${i}`;
    standIn.customers.set(customerId, {
      ...shapes.customer,
      id: customerId,
      name: `Client ${i}`,
      email: `client${i}@example.com`,
      metadata: { nudges_client_id: clientId },
      created: createdAt(i, CUSTOMERS),
    });
    await clients.handle(store, {
      type: "CreateClient",
      data: { clientId, at: AT, name: `Client ${i}`, email: `client${i}@example.com` },
    }, options);
    await clients.handle(store, {
      type: "LinkStripeCustomer",
      data: { clientId, at: AT, stripeCustomerId: customerId },
    }, options);
  }
};

/**
 * 10 % of the Stripe objects drift: 40 % are products renamed in the Dashboard, 30 %
 * products and prices made in the Dashboard, 30 % clients Nudges never pushed.
 */
const driftedScene = async (store: EventStore, standIn: StripeStandIn) => {
  const drifted = Math.round((PRODUCTS * 2 + CUSTOMERS) * DRIFT);
  const renamed = Math.round(drifted * 0.4);
  const dashboard = Math.round(drifted * 0.15);
  const pending = drifted - renamed - dashboard * 2;
  await seed(store, standIn, dashboard);
  const now = Math.floor(Date.now() / 1000);
  [...standIn.products.values()].slice(dashboard, dashboard + renamed).forEach((product) => {
    product.name = `${product.name} (renamed)`;
    product.updated = now;
  });
  for (let i = 0; i < pending; i++) {
    await clients.handle(store, {
      type: "CreateClient",
      data: {
        clientId: crypto.randomUUID(),
        at: AT,
        name: `New ${i}`,
        email: `new${i}@example.com`,
      },
    }, options);
  }
  return drifted;
};

const measure = async (label: string, store: EventStore, standIn: StripeStandIn) => {
  const gateway = resilientGateway(
    stripeSdkApi({ apiKey: "sk_test_bench", apiBase: standIn.url }),
    { requestsPerSecond: LIMIT },
  );
  const objects = standIn.products.size + standIn.prices.size + standIn.customers.size;
  const requestsBefore = standIn.requests.length;
  const limitedBefore = standIn.rateLimited();
  const started = performance.now();
  const report = await reconcile(reconcileDeps(store, gateway.gateway));
  const seconds = (performance.now() - started) / 1000;
  gateway.dispose();
  const requests = standIn.requests.length - requestsBefore;
  console.log(
    `| ${label} | ${objects} | ${report.found} found, ${report.repaired} repaired | ${
      seconds.toFixed(1)
    } | ${Math.round(objects / seconds)} | ${requests} | ${(requests / seconds).toFixed(1)} (${
      Math.round(requests / seconds / LIMIT * 100)
    } %) | ${standIn.rateLimited() - limitedBefore} |`,
  );
  return report;
};

console.log(
  `Stripe stand-in: ${LATENCY_MS} ms a request, ${LIMIT} requests/s; ${PRODUCTS} products, ${PRODUCTS} prices, ${CUSTOMERS} customers`,
);
console.log(
  "| run | Stripe objects | drift | seconds | objects/s | requests | requests/s (of the limit) | 429s |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
{
  const standIn = startStripeStandIn({ latencyMs: LATENCY_MS, requestsPerSecond: LIMIT });
  try {
    const store = memoryEventStore();
    await seed(store, standIn);
    const inLine = await measure("in line", store, standIn);
    if (inLine.found !== 0) throw new Error(`the in-line run found drift: ${inLine.found}`);
  } finally {
    await standIn.close();
  }
}
{
  const standIn = startStripeStandIn({ latencyMs: LATENCY_MS, requestsPerSecond: LIMIT });
  try {
    const store = memoryEventStore();
    const drifted = await driftedScene(store, standIn);
    const repaired = await measure("10 % drift", store, standIn);
    if (repaired.found !== drifted || repaired.remaining !== 0) {
      throw new Error(
        `expected ${drifted} drifts repaired, got ${repaired.found}, ${repaired.remaining} left`,
      );
    }
    const after = await measure("right after", store, standIn);
    if (after.found !== 0) throw new Error(`the run after found drift: ${after.found}`);
  } finally {
    await standIn.close();
  }
}
