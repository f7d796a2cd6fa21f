// Pages of the catalog against the whole list, over `deno task dev` as a user runs it:
// 10,000 plans × 3 tiers in the event store (imported from Stripe, so the outbox has
// nothing to send and the stack is quiet), then this process asks over HTTP, with the
// dev token: plansConnection's first page, a page deep in the catalog (after the 9,000th
// plan), and the whole `plans` list, each selecting the same plan and tier fields.
// p50/p99 of each benchmark's own samples are printed at the end; docs/benchmarks.md
// "## Pages" shows them.
//   deno task bench tests/apps/dev/pages_bench.ts
import { join } from "node:path";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { planStream } from "../../../domain/plan.ts";
import { priceTierStream } from "../../../domain/price_tier.ts";
import { DATA_FILES } from "../../../apps/wiring.ts";
import { freePort } from "../../support/process.ts";
import { eventually, graphql, startDevTask } from "./dev_process.ts";
import { systemEvent } from "../../support/new_events.ts";

const PLANS = 10_000;
const TIERS = 3;

/** The catalog as a Stripe account's import leaves it: linked plans and tiers. */
const seed = async (path: string) => {
  const store = sqliteEventStore(path);
  const at = "2025-03-01T10:00:00.000Z";
  const stripe = (n: number) => ({
    stripeEventId: `evt_bench_${n}`,
    stripeEventCreated: 1_740_823_200,
  });
  try {
    for (let p = 0; p < PLANS; p++) {
      const planId = crypto.randomUUID();
      await store.append(planStream(planId), [
        systemEvent("PlanImportedFromStripe", {
          planId,
          at,
          ...stripe(p),
          name: `Plan ${p}`,
          description: `The plan number ${p}, for the benchmark`,
          iconUrl: null,
          isActive: true,
          stripeProductId: `prod_bench_${p}`,
        }),
      ], "noStream");
      for (let t = 0; t < TIERS; t++) {
        const priceTierId = crypto.randomUUID();
        await store.append(priceTierStream(priceTierId), [
          systemEvent("PriceTierImportedFromStripe", {
            priceTierId,
            at,
            ...stripe(p * TIERS + t),
            planId,
            name: `Tier ${t}`,
            unitAmount: 1000 * (t + 1),
            currency: "usd",
            interval: "month",
            intervalCount: 1,
            stripePriceId: `price_bench_${p}_${t}`,
            isActive: true,
          }),
        ], "noStream");
      }
    }
  } finally {
    await store.close();
  }
};

const FIELDS = `id name description isActive syncStatus version createdAt
  priceTiers { id name unitAmount currency interval intervalCount isActive }`;
const PAGE = `query($after: String) {
  plansConnection(first: 50, after: $after) {
    edges { cursor node { ${FIELDS} } } pageInfo { hasNextPage endCursor } totalCount
  }
}`;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** `samples` timed runs of `query` over HTTP after `warmup` untimed ones: a table row. */
const measure = async (
  url: string,
  token: string,
  name: string,
  runs: { warmup: number; samples: number },
  query: string,
  variables: Record<string, unknown> = {},
) => {
  const once = async () => {
    const start = performance.now();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    const took = performance.now() - start;
    if (!response.ok || text.includes('"errors"')) {
      throw new Error(`${name}: ${text.slice(0, 300)}`);
    }
    return { took, bytes: text.length };
  };
  for (let n = 0; n < runs.warmup; n++) await once();
  const times: number[] = [];
  let bytes = 0;
  for (let n = 0; n < runs.samples; n++) ({ took: times[n], bytes } = await once());
  times.sort((a, b) => a - b);
  return `| ${name} | ${runs.samples} | ${(bytes / 1024).toFixed(0)} KiB | ${
    percentile(times, 0.5).toFixed(1)
  } | ${percentile(times, 0.99).toFixed(1)} |`;
};

Deno.bench({
  name: "deno task dev: plansConnection pages and the whole plans list, 10,000 plans × 3 tiers",
  n: 1,
  warmup: 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nudges-pages-bench-" });
    try {
      await seed(join(dir, DATA_FILES.events));
      const dev = await startDevTask({
        DATA_DIR: dir,
        PRODUCT_API_PORT: String(freePort()),
        WEBHOOKS_PORT: String(freePort()),
        KAFKA_CONSUMER_PORT: String(freePort()),
      });
      try {
        const token = dev.madeUp.PRODUCT_API_TOKEN!;
        type Count = { plansConnection: { totalCount: number } };
        await eventually(
          "the read model holding the catalog",
          () =>
            graphql<Count>(dev.graphql, token, "{ plansConnection(first: 0) { totalCount } }")
              .catch((): Count => ({ plansConnection: { totalCount: 0 } })),
          (data) => data.plansConnection.totalCount === PLANS,
          600_000,
        );
        // The cursor after the 9,000th plan, found by paging there once.
        let deep: string | null = null;
        type Cursor = { plansConnection: { pageInfo: { endCursor: string } } };
        for (let seen = 0; seen < 9000; seen += 100) {
          const page: Cursor = await graphql<Cursor>(
            dev.graphql,
            token,
            "query($after: String) { plansConnection(first: 100, after: $after) { pageInfo { endCursor } } }",
            { after: deep },
          );
          deep = page.plansConnection.pageInfo.endCursor;
        }
        const rows = [
          await measure(dev.graphql, token, "`plansConnection(first: 50)`, the first page", {
            warmup: 20,
            samples: 500,
          }, PAGE),
          await measure(
            dev.graphql,
            token,
            "`plansConnection(first: 50)` after the 9,000th plan",
            { warmup: 20, samples: 500 },
            PAGE,
            { after: deep },
          ),
          await measure(dev.graphql, token, "`plans`, the whole list", {
            warmup: 3,
            samples: 30,
          }, `{ plans { ${FIELDS} } }`),
        ];
        console.log([
          `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores; ${PLANS} plans × ${TIERS} tiers over deno task dev, HTTP on localhost`,
          "| query (plan fields + tier fields) | samples | answer | p50 ms | p99 ms |",
          "| --- | --- | --- | --- | --- |",
          ...rows,
        ].join("\n"));
      } finally {
        await dev.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
