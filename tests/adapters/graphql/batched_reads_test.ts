import assert from "node:assert/strict";
import { StatementSync } from "node:sqlite";
import { sqliteReadModel } from "../../../adapters/readmodel/sqlite.ts";
import { checkout, writer } from "../../application/projections/events.ts";
import { type Api, harness } from "./harness.ts";

/** Runs `body` counting the SQL statements run meanwhile (every StatementSync call). */
const countingStatements = async (body: () => Promise<unknown>): Promise<string[]> => {
  const proto = StatementSync.prototype;
  const methods = ["all", "get", "run", "iterate"] as const;
  const originals = methods.map((name) => proto[name]);
  const ran: string[] = [];
  methods.forEach((name, i) => {
    const original = originals[i] as (...args: unknown[]) => unknown;
    // deno-lint-ignore no-explicit-any -- the same method, counted
    (proto as any)[name] = function (this: StatementSync, ...args: unknown[]) {
      ran.push(this.sourceSQL);
      return original.apply(this, args);
    };
  });
  try {
    await body();
  } finally {
    // deno-lint-ignore no-explicit-any
    methods.forEach((name, i) => (proto as any)[name] = originals[i]);
  }
  return ran;
};

/** Adds plans (3 tiers each) and clients (2 checkouts each) up to the given totals. */
const grow = async (api: Api, plans: number, clients: number) => {
  const w = writer(api.store);
  const have = await api.data(`{ plansConnection(includeInactive: true, first: 0) { totalCount }
    clientsConnection(first: 0) { totalCount } }`);
  for (let p = have.plansConnection.totalCount; p < plans; p++) {
    await w.createPlan(`plan-${p}`);
    for (let t = 0; t < 3; t++) await w.createTier(`tier-${p}-${t}`, `plan-${p}`, 100 * (t + 1));
  }
  for (let c = have.clientsConnection.totalCount; c < clients; c++) {
    await w.client(`client-${c}`, (at) => ({
      type: "CreateClient",
      data: { clientId: `client-${c}`, at, name: `Client ${c}`, email: `c${c}@example.com` },
    }));
    for (const n of [2 * c, 2 * c + 1]) {
      await checkout(w, { clientId: `client-${c}`, planId: "plan-0", priceTierId: "tier-0-0", n });
    }
  }
  const last = (await api.store.readAll({ limit: 1_000_000 })).at(-1)!.position;
  assert.equal(await api.projector.waitFor(last, 10_000), true);
};

const PAGES = {
  "plansConnection, first page": `{ plansConnection(first: 20) {
    edges { cursor node { id name priceTiers { id unitAmount } } } pageInfo { hasNextPage endCursor } totalCount } }`,
  "plansConnection, a page deep":
    `query($after: String) { plansConnection(first: 20, after: $after) {
    edges { node { id priceTiers { id } } } pageInfo { hasNextPage } totalCount } }`,
  "clientsConnection with subscriptions and payments": `{ clientsConnection(first: 20) {
    edges { node { id subscriptions { id status paymentConfirmation { id amountTotal } } } } totalCount } }`,
  "planSubscriptionsConnection with payments":
    `{ planSubscriptionsConnection(first: 20, status: "active") {
    edges { node { id paymentConfirmation { id } } } totalCount } }`,
  "the whole plans list with tiers": `{ plans { id priceTiers { id } } }`,
  "the whole clients list with subscriptions and payments":
    `{ clients { id subscriptions { paymentConfirmation { id } } } }`,
};

Deno.test("a page, nested lists included, costs the same few SQL statements whatever the catalog's size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "batched_reads_" });
  const api = harness({ readModel: sqliteReadModel(`${dir}/read_model.sqlite`) });
  try {
    const statementsAt = async () => {
      // A cursor deep in the catalog: the one after the 40th plan.
      const { plansConnection } = await api.data(
        `{ plansConnection(first: 40) { pageInfo { endCursor } } }`,
      );
      const counts: Record<string, number> = {};
      for (const [name, query] of Object.entries(PAGES)) {
        const ran = await countingStatements(() =>
          api.data(query, { after: plansConnection.pageInfo.endCursor })
        );
        counts[name] = ran.length;
      }
      return counts;
    };
    await grow(api, 60, 30);
    const small = await statementsAt();
    await grow(api, 240, 120);
    const large = await statementsAt();
    assert.deepEqual(large, small, "the same statements at 4 times the size");
    for (const [name, count] of Object.entries(large)) {
      assert.ok(count <= 5, `${name}: ${count} statements`);
    }
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
