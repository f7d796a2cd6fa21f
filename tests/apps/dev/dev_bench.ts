// The seed's sequence over `deno task dev`: createPlan → outbox → bus → outbound → Stripe
// → link → read model → onPlanUpdated with the stripeProductId. The dev stack is its own
// process, started as a user starts it (fresh DATA_DIR); this process is the UI: the
// mutation over HTTP, the update over graphql-ws. Stripe is the dev simulator (which posts
// its webhooks back, as Stripe does) or an instant stand-in (tests/support/
// stripe_stand_in.ts, given an sk_live key: the limiter at 100/s in the path, no webhooks).
// On the in-process bus, and on Kafka (a broker of the benchmark's own,
// tests/support/bench_kafka.ts; BENCH_KAFKA=0 skips it).
// - latency: BENCH_PLANS plans one after another, each timed from sending createPlan to the
//   onPlanUpdated that carries its stripeProductId (p50/p99/max), and the mutation's answer
//   alone (p50);
// - burst: BENCH_BURST createPlans sent at once, timed until the last one is linked.
// The table printed is what docs/benchmarks.md "## Dev loop" shows.
//   deno task bench tests/apps/dev/dev_bench.ts
import { benchKafka } from "../../support/bench_kafka.ts";
import { freePort } from "../../support/process.ts";

/** BUS_CONCURRENCY of this run, handed to `deno task dev` when set. */
const busConcurrency = Deno.env.get("BUS_CONCURRENCY");
import { startStripeStandIn } from "../../support/stripe_stand_in.ts";
import { type DevRun, graphql, planUpdates, startDevTask } from "./dev_process.ts";

const PLANS = Number(Deno.env.get("BENCH_PLANS") ?? 200);
const BURST = Number(Deno.env.get("BENCH_BURST") ?? 100);
const WARMUP = 20;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

const CREATE = `mutation ($name: String!) { createPlan(input: { name: $name }) { id } }`;

const measure = async (name: string, dev: DevRun) => {
  const token = dev.madeUp.PRODUCT_API_TOKEN!;
  const updates = await planUpdates(dev.graphql, token);
  const create = async (n: number) =>
    (await graphql<{ createPlan: { id: string } }>(dev.graphql, token, CREATE, {
      name: `Bench plan ${n}`,
    })).createPlan.id;
  const linked = (id: string) =>
    updates.next((p) => p.id === id && p.stripeProductId !== null, 120_000);
  try {
    for (let n = 0; n < WARMUP; n++) await linked(await create(n));

    const total: number[] = [];
    const answered: number[] = [];
    for (let n = 0; n < PLANS; n++) {
      const start = performance.now();
      const id = await create(n);
      answered.push(performance.now() - start);
      await linked(id);
      total.push(performance.now() - start);
    }

    const start = performance.now();
    const ids = await Promise.all(Array.from({ length: BURST }, (_, n) => create(n)));
    await Promise.all(ids.map(linked));
    const burstMs = performance.now() - start;

    total.sort((a, b) => a - b);
    answered.sort((a, b) => a - b);
    return `| ${name} | ${percentile(total, 0.5).toFixed(1)} | ${
      percentile(total, 0.99).toFixed(1)
    } | ${total.at(-1)!.toFixed(1)} | ${percentile(answered, 0.5).toFixed(1)} | ${
      (BURST / (burstMs / 1000)).toFixed(0)
    } (${burstMs.toFixed(0)} ms) |`;
  } finally {
    await updates.dispose();
  }
};

const run = async (name: string, extra: Record<string, string>, standIn: boolean) => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-dev-bench-" });
  const stripe = standIn ? startStripeStandIn() : null;
  try {
    const dev = await startDevTask({
      DATA_DIR: dir,
      PRODUCT_API_PORT: String(freePort()),
      WEBHOOKS_PORT: String(freePort()),
      KAFKA_CONSUMER_PORT: String(freePort()),
      ...busConcurrency ? { BUS_CONCURRENCY: busConcurrency } : {},
      ...stripe ? { STRIPE_API_KEY: "sk_live_nudgesbench", STRIPE_API_BASE: stripe.url } : {},
      ...extra,
    });
    try {
      return await measure(`${name}, ${stripe ? "instant stand-in" : "Stripe simulator"}`, dev);
    } finally {
      await dev.stop();
    }
  } finally {
    await stripe?.close();
    await Deno.remove(dir, { recursive: true });
  }
};

let ran: Promise<void> | undefined;
Deno.bench({
  name: "deno task dev: createPlan → stripeProductId over onPlanUpdated",
  n: 1,
  warmup: 0,
  // deno bench may call a slow function more than once: the table is made once.
  async fn() {
    await (ran ??= all());
  },
});

async function all() {
  const rows: string[] = [];
  for (const standIn of [false, true]) rows.push(await run("in-process bus (SQLite)", {}, standIn));
  const kafka = await benchKafka();
  try {
    if (kafka) {
      for (const standIn of [false, true]) {
        rows.push(await run("Kafka (own broker)", { KAFKA_BROKERS: kafka.brokers }, standIn));
      }
    } else console.log("dev_bench.ts: Kafka skipped (BENCH_KAFKA=0)");
  } finally {
    await kafka?.stop();
  }
  console.log([
    `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores, load average ${
      Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
    }; ${PLANS} plans one at a time after ${WARMUP} to warm up; a burst of ${BURST}`,
    "| stack | p50 ms | p99 ms | max ms | createPlan answer p50 ms | burst plans/s |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"));
}
