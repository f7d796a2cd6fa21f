// Throughput of the SQLite event store (figures in docs/benchmarks.md). Appends are
// durable against a crash of the process: each resolves once its WAL transaction committed
// (synchronous=NORMAL), as the store runs in production. Appends made together share one
// transaction (group commit); the store with maxGroup 1 gives each its own, for comparison.
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import type { NewEvent } from "../../../application/ports/event_store.ts";

const STREAMS = 1_000;
const BATCH = 100;
const SCAN = 100_000;
/** Appends made together, as by the webhook endpoint's requests in flight. */
const TOGETHER = 32;

const dir = Deno.makeTempDirSync({ prefix: "sqlite_bench_" });
const appends = sqliteEventStore(`${dir}/appends.sqlite`);
const scanned = sqliteEventStore(`${dir}/scan.sqlite`);
const ungrouped = sqliteEventStore(`${dir}/ungrouped.sqlite`, { maxGroup: 1 });
globalThis.addEventListener("unload", () => {
  void appends.close();
  void scanned.close();
  void ungrouped.close();
  Deno.removeSync(dir, { recursive: true });
});

let n = 0;
/** About the size of a real event: a plan's fields and the metadata of a GraphQL request. */
const event = (): NewEvent => {
  const id = `${++n}`.padStart(8, "0");
  return {
    type: "PlanCreated",
    data: {
      planId: `5f0c2d5e-8a4e-4a55-9c39-${id}aaaa`,
      at: "2025-01-15T10:00:00.000Z",
      name: `Plan ${id}`,
      description: "Everything a small team needs to nudge its customers",
      iconUrl: "https://cdn.example.com/icons/plan.png",
    },
    metadata: {
      eventId: `0d4f6a3c-2b1e-4c8d-9f7a-${id}bbbb`,
      correlationId: `req-${id}`,
      causationId: `req-${id}`,
      cause: { kind: "graphql", requestId: `req-${id}`, operation: "createPlan" },
    },
  };
};

for (let written = 0; written < SCAN; written += 1_000) {
  await scanned.append(`plan-${written}`, Array.from({ length: 1_000 }, event), "noStream");
}

const revisions = new Array<number>(STREAMS).fill(-1);
let next = 0;

Deno.bench("append: 1 event to one of 1,000 streams, own transaction", async () => {
  const stream = next++ % STREAMS;
  const expected = revisions[stream]!;
  const result = await appends.append(
    `plan-${stream}`,
    [event()],
    expected < 0 ? "noStream" : expected,
  );
  revisions[stream] = result.nextRevision;
});

// Durable appends (synchronous=FULL for their transaction, as the webhook's record): the sync
// to disk is the cost, shared by the appends made together.
let durables = 0;
Deno.bench("append: 1 durable event to a new stream, own transaction", async () => {
  await appends.append(`durable-${durables++}`, [event()], "noStream", { durable: true });
});
Deno.bench(`append: ${TOGETHER} durable single-event appends made together`, async () => {
  const round = durables++;
  await Promise.all(
    Array.from(
      { length: TOGETHER },
      (_, i) => appends.append(`durable-${round}-${i}`, [event()], "noStream", { durable: true }),
    ),
  );
});

let together = 0;
for (const [name, store] of [["group commit", appends], ["maxGroup 1", ungrouped]] as const) {
  Deno.bench(`append: ${TOGETHER} single-event appends made together, ${name}`, async () => {
    const round = together++;
    await Promise.all(
      Array.from(
        { length: TOGETHER },
        (_, i) => store.append(`together-${round}-${i}`, [event()], "noStream"),
      ),
    );
  });
}

let batches = 0;
Deno.bench(`append: a batch of ${BATCH} events to a new stream`, async () => {
  await appends.append(`batch-${batches++}`, Array.from({ length: BATCH }, event), "noStream");
});

Deno.bench(`readAll: scan of ${SCAN.toLocaleString("en")} events, 1,000 a page`, {
  n: 10,
  warmup: 2,
}, async () => {
  let after = 0;
  let count = 0;
  for (;;) {
    const page = await scanned.readAll({ after, limit: 1_000 });
    if (page.length === 0) break;
    count += page.length;
    after = page[page.length - 1]!.position;
  }
  if (count !== SCAN) throw new Error(`read ${count} events, wrote ${SCAN}`);
});
