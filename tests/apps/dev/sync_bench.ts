// Outbound sync at Stripe's pace, end to end through `deno task dev`: PLANS plans with
// 3 price tiers each are created over GraphQL, and the dev process syncs them to a Stripe
// stand-in (tests/support/stripe_stand_in.ts) that allows 100 requests/s (429 with
// Retry-After beyond) and answers each after LATENCY ms. The dev process is given an
// sk_live key, so its own limiter allows 100/s too. Each stack (the in-process bus, and
// Kafka on a broker of the benchmark's own: tests/support/bench_kafka.ts) at each latency:
// - creates/s: Stripe objects created, from the first create request to the last answer,
//   as a fraction of the limit (goal ≥ 0.9);
// - duplicates: objects created beyond one per plan or tier (goal 0);
// - 429s the stand-in answered (goal 0).
// Every plan and tier is then checked linked in GraphQL. docs/benchmarks.md shows the table.
//   deno task bench tests/apps/dev/sync_bench.ts
//   (BENCH_PLANS, BENCH_LATENCIES=50,300, BENCH_KAFKA=0 to skip Kafka, BUS_CONCURRENCY)
import { benchKafka } from "../../support/bench_kafka.ts";
import { freePort } from "../../support/process.ts";

/** BUS_CONCURRENCY of this run, handed to `deno task dev` when set. */
const busConcurrency = Deno.env.get("BUS_CONCURRENCY");
import { startStripeStandIn, type StripeStandIn } from "../../support/stripe_stand_in.ts";
import { graphql, startDevTask } from "./dev_process.ts";

const PLANS = Number(Deno.env.get("BENCH_PLANS") ?? 1000);
const TIERS = 3;
const LIMIT = 100;
const LATENCIES = (Deno.env.get("BENCH_LATENCIES") ?? "50,300").split(",").map(Number);
const WRITERS = 16;

const CREATE_PLAN = `mutation ($name: String!) { createPlan(input: { name: $name }) { id } }`;
const CREATE_TIER = `mutation ($planId: ID!, $amount: Int!) {
  createPriceTier(input: { planId: $planId, unitAmount: $amount, currency: "usd", interval: MONTH }) { id }
}`;
const PLANS_QUERY = `{ plans { id stripeProductId priceTiers { stripePriceId } } }`;

type Plans = {
  plans: { stripeProductId: string | null; priceTiers: { stripePriceId: string | null }[] }[];
};

const isCreate = (path: string) => path === "/v1/products" || path === "/v1/prices";

const distinct = (objects: Map<string, Record<string, unknown>>, field: string) =>
  new Set([...objects.values()].map((o) => (o.metadata as Record<string, string>)[field])).size;

const measure = async (stack: string, latencyMs: number, extra: Record<string, string>) => {
  const stripe: StripeStandIn = startStripeStandIn({ latencyMs, requestsPerSecond: LIMIT });
  const dir = await Deno.makeTempDir({ prefix: "nudges-sync-bench-" });
  let lastAnswer = 0;
  try {
    const dev = await startDevTask({
      DATA_DIR: dir,
      PRODUCT_API_PORT: String(freePort()),
      WEBHOOKS_PORT: String(freePort()),
      KAFKA_CONSUMER_PORT: String(freePort()),
      ...busConcurrency ? { BUS_CONCURRENCY: busConcurrency } : {},
      STRIPE_API_KEY: "sk_live_nudgesbench",
      STRIPE_API_BASE: stripe.url,
      LOG_LEVEL: "error",
      ...extra,
    });
    try {
      const token = dev.madeUp.PRODUCT_API_TOKEN!;
      const started = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: WRITERS }, async () => {
        for (let n = next++; n < PLANS; n = next++) {
          const { createPlan } = await graphql<{ createPlan: { id: string } }>(
            dev.graphql,
            token,
            CREATE_PLAN,
            { name: `Plan ${n}` },
          );
          for (let t = 0; t < TIERS; t++) {
            await graphql(dev.graphql, token, CREATE_TIER, {
              planId: createPlan.id,
              amount: 500 * (t + 1),
            });
          }
        }
      }));
      const createdIn = performance.now() - started;
      const total = PLANS * (1 + TIERS);
      const creates = () =>
        stripe.requests.filter((r) => isCreate(r.path) && r.status === 200 && !r.replayed);
      const deadline = performance.now() + 30 * 60_000;
      while (stripe.products.size + stripe.prices.size < total) {
        if (performance.now() > deadline) {
          throw new Error(`only ${creates().length} of ${total} created`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      lastAnswer = performance.now();
      for (;;) {
        const { plans } = await graphql<Plans>(dev.graphql, token, PLANS_QUERY);
        const linked = plans.filter((p) =>
          p.stripeProductId !== null && p.priceTiers.every((t) => t.stripePriceId !== null)
        );
        if (linked.length === PLANS) break;
        if (performance.now() > deadline) {
          throw new Error(`${linked.length} of ${PLANS} plans linked`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const first = stripe.requests.find((r) => isCreate(r.path))?.at ?? started;
      const seconds = (lastAnswer - first) / 1000;
      const perSecond = total / seconds;
      const duplicates = stripe.products.size - distinct(stripe.products, "nudges_plan_id") +
        stripe.prices.size - distinct(stripe.prices, "nudges_price_tier_id");
      return `| ${stack} | ${latencyMs} ms | ${perSecond.toFixed(1)}/s = **${
        (perSecond / LIMIT).toFixed(2)
      }** (${seconds.toFixed(1)} s) | ${duplicates} | ${stripe.rateLimited()} | ${
        (createdIn / 1000).toFixed(1)
      } s |`;
    } finally {
      await dev.stop();
    }
  } finally {
    await stripe.close();
    await Deno.remove(dir, { recursive: true });
  }
};

let ran: Promise<void> | undefined;
Deno.bench({
  name: `deno task dev: ${PLANS} plans × ${TIERS} tiers to a stand-in allowing ${LIMIT}/s`,
  n: 1,
  warmup: 0,
  // deno bench may call a slow function more than once: the table is made once.
  async fn() {
    await (ran ??= run());
  },
});

async function run() {
  const rows: string[] = [];
  for (const latency of LATENCIES) {
    rows.push(await measure("in-process bus (SQLite)", latency, {}));
  }
  const kafka = await benchKafka();
  try {
    if (kafka) {
      for (const latency of LATENCIES) {
        rows.push(await measure("Kafka (own broker)", latency, { KAFKA_BROKERS: kafka.brokers }));
      }
    } else console.log("sync_bench.ts: Kafka skipped (BENCH_KAFKA=0)");
  } finally {
    await kafka?.stop();
  }
  console.log([
    `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores, load average ${
      Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
    }; ${PLANS} plans × ${TIERS} tiers; BUS_CONCURRENCY ${
      Deno.env.get("BUS_CONCURRENCY") ?? "default"
    }`,
    "| stack | Stripe latency | creates/s (of the limit) | duplicates | 429s | GraphQL writes took |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"));
}
