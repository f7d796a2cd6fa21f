// The product API's speed on the embedded engines (SQLite event store, SQLite read model):
// the `plans` query over 10,000 plans × 3 tiers, createPlan throughput with read-your-writes,
// and how long rebuilding the read model from 100,000 events takes.
//   deno task bench tests/adapters/graphql/graphql_bench.ts
// deno bench prints avg/p75/p99; the p50/p99 of each benchmark's own samples are printed
// at the end. Figures go into docs/benchmarks.md under "## GraphQL API".
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { graphqlServer } from "../../../adapters/graphql/server.ts";
import { sqliteReadModel } from "../../../adapters/readmodel/sqlite.ts";
import { randomId, systemClock } from "../../../application/ports/clock.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import { foldEvents } from "../../../application/projections/fold.ts";
import { startProjector } from "../../../application/projections/projector.ts";
import { planStream } from "../../../domain/plan.ts";
import { priceTierStream } from "../../../domain/price_tier.ts";
import { systemEvent } from "../../support/new_events.ts";

const TOKEN = "bench-token-0123456789abcdef";
const dir = Deno.makeTempDirSync({ prefix: "graphql_bench_" });
globalThis.addEventListener("unload", () => {
  report();
  Deno.removeSync(dir, { recursive: true });
});

/** `plans` plans with `tiers` tiers each, as the command handler would have written them. */
const seed = async (store: EventStore, plans: number, tiers: number) => {
  const at = "2025-03-01T10:00:00.000Z";
  for (let p = 0; p < plans; p++) {
    const planId = crypto.randomUUID();
    await store.append(planStream(planId), [
      systemEvent("PlanCreated", {
        planId,
        at,
        name: `Plan ${p}`,
        description: null,
        iconUrl: null,
      }),
    ], "noStream");
    for (let t = 0; t < tiers; t++) {
      const priceTierId = crypto.randomUUID();
      await store.append(priceTierStream(priceTierId), [
        systemEvent("PriceTierCreated", {
          priceTierId,
          at,
          planId,
          name: `Tier ${t}`,
          unitAmount: 1000 * (t + 1),
          currency: "usd",
          interval: "month",
          intervalCount: 1,
        }),
      ], "noStream");
    }
  }
};

// Samples of each benchmark, for p50/p99 (deno bench reports no median).
const samples = new Map<string, number[]>();
const timed = (name: string, fn: () => Promise<unknown>) => async () => {
  const start = performance.now();
  await fn();
  const took = performance.now() - start;
  samples.set(name, [...samples.get(name) ?? [], took]);
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const report = () => {
  for (const [name, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `${name}: n=${sorted.length} p50=${percentile(sorted, 0.5).toFixed(2)} ms ` +
        `p99=${percentile(sorted, 0.99).toFixed(2)} ms`,
    );
  }
};

// The catalog: 10,000 plans × 3 tiers = 40,000 events, projected once before the benchmarks.
const store = sqliteEventStore(`${dir}/events.sqlite`);
await seed(store, 10_000, 3);
const readModel = sqliteReadModel(`${dir}/read_model.sqlite`);
const projector = startProjector({ store, readModel });
await projector.waitFor(40_000, 600_000);
const server = graphqlServer({
  store,
  projector,
  clock: systemClock,
  newId: randomId,
  logger: silentLogger,
  token: TOKEN,
});
const http = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  async (request) => await server.handle(request) ?? new Response(null, { status: 404 }),
);
const url = `http://127.0.0.1:${http.addr.port}/graphql`;

const PLANS = JSON.stringify({
  query: `{ plans { id name description isActive syncStatus version createdAt
    priceTiers { id name unitAmount currency interval intervalCount isActive } } }`,
});
// Every operation needs the token (queries too, unless PRODUCT_API_PUBLIC_READS).
const post = (body: string, token = TOKEN) => ({
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  body,
});

Deno.bench({
  name: "plans: 10,000 plans × 3 tiers, in process",
  group: "plans",
  n: 30,
  warmup: 3,
  fn: timed("plans in process", async () => {
    const response = await server.handle(new Request(url, post(PLANS)));
    if (response?.status !== 200) throw new Error(`plans answered ${response?.status}`);
    await response.text();
  }),
});

Deno.bench({
  name: "plans: 10,000 plans × 3 tiers, over HTTP",
  group: "plans",
  n: 30,
  warmup: 3,
  fn: timed("plans over HTTP", async () => {
    const response = await fetch(url, post(PLANS));
    if (response.status !== 200) throw new Error(`plans answered ${response.status}`);
    await response.text();
  }),
});

const createPlan = () =>
  fetch(
    url,
    post(
      JSON.stringify({ query: `mutation { createPlan(input: { name: "Bench" }) { id version } }` }),
      TOKEN,
    ),
  ).then((response) => response.text());

Deno.bench({
  name: "createPlan over HTTP, one at a time (answer read from the read model)",
  group: "createPlan",
  warmup: 20,
  fn: timed("createPlan one at a time", createPlan),
});

Deno.bench({
  name: "createPlan over HTTP, 8 at once",
  group: "createPlan",
  warmup: 5,
  fn: timed("createPlan 8 at once", () => Promise.all(Array.from({ length: 8 }, createPlan))),
});

// 25,000 plans × (1 + 3 tiers) = 100,000 events in a store of their own.
const history = sqliteEventStore(`${dir}/history.sqlite`);
await seed(history, 25_000, 3);
const events = await history.readAll({ limit: 200_000 });
let rebuilds = 0;

Deno.bench({
  name: "rebuild: 100,000 events into a new SQLite read model",
  group: "rebuild",
  n: 3,
  warmup: 0,
  fn: timed("rebuild 100k events", async () => {
    const fresh = sqliteReadModel(`${dir}/rebuild-${++rebuilds}.sqlite`);
    const rebuilding = startProjector({ store: history, readModel: fresh });
    await rebuilding.waitFor(100_000, 600_000);
    await rebuilding.stop();
    fresh.close();
  }),
});

Deno.bench({
  name: "fold only: foldEvents over 100,000 events in memory",
  group: "rebuild",
  n: 5,
  warmup: 1,
  fn: timed("foldEvents 100k events", () => Promise.resolve(foldEvents(events))),
});
