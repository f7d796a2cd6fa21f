import assert from "node:assert/strict";
import { checkout, writer } from "../../application/projections/events.ts";
import { type Api, createPlan, withApi } from "./harness.ts";

/** Waits until the read model holds everything stored so far. */
const settled = async (api: Api) => {
  const last = (await api.store.readAll({ limit: 100_000 })).at(-1)?.position ?? 0;
  assert.equal(await api.projector.waitFor(last, 5000), true);
};

const PLANS_PAGE = `query($first: Int, $after: String, $all: Boolean) {
  plansConnection(first: $first, after: $after, includeInactive: $all) {
    edges { cursor node { name priceTiers { unitAmount } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

type PlanPage = {
  edges: { cursor: string; node: { name: string; priceTiers: { unitAmount: number }[] } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
};

const plansPage = async (api: Api, variables: Record<string, unknown>): Promise<PlanPage> =>
  (await api.data(PLANS_PAGE, variables)).plansConnection;

Deno.test(
  "plansConnection pages active plans in creation order with their tiers, cursors and totalCount",
  withApi(async (api) => {
    const w = writer(api.store);
    for (const name of ["Gold", "Silver", "Bronze", "Iron", "Tin"]) await w.createPlan(name, name);
    await w.createTier("t1", "Silver", 200);
    await w.createTier("t2", "Gold", 100);
    await w.createTier("t3", "Silver", 300);
    await w.plan("Bronze", (at) => ({
      type: "UpdatePlan",
      data: { planId: "Bronze", at, isActive: false },
    }));
    await settled(api);

    const first = await plansPage(api, { first: 2 });
    assert.deepEqual(first.edges.map((e) => e.node), [
      { name: "Gold", priceTiers: [{ unitAmount: 100 }] },
      { name: "Silver", priceTiers: [{ unitAmount: 200 }, { unitAmount: 300 }] },
    ]);
    assert.deepEqual(first.pageInfo, { hasNextPage: true, endCursor: first.edges[1]!.cursor });
    assert.equal(first.totalCount, 4);

    const second = await plansPage(api, { first: 2, after: first.pageInfo.endCursor });
    assert.deepEqual(second.edges.map((e) => e.node.name), ["Iron", "Tin"]);
    assert.equal(second.pageInfo.hasNextPage, false);
    // An empty page past the end keeps the cursor, to ask again later.
    const none = await plansPage(api, { after: second.pageInfo.endCursor });
    assert.deepEqual(none.edges, []);
    assert.deepEqual(none.pageInfo, { hasNextPage: false, endCursor: second.pageInfo.endCursor });

    const all = await plansPage(api, { all: true });
    assert.deepEqual(all.edges.map((e) => e.node.name), [
      "Gold",
      "Silver",
      "Bronze",
      "Iron",
      "Tin",
    ]);
    assert.equal(all.totalCount, 5);
    assert.equal(all.pageInfo.hasNextPage, false);
    // The default page is 50; cursors say nothing readable about what they point at.
    for (const { cursor } of all.edges) assert.doesNotMatch(cursor, /Gold|Silver|plan/i);
  }),
);

Deno.test(
  "paging while plans are created and edited never skips or repeats one",
  withApi(async (api) => {
    const created: string[] = [];
    for (let n = 0; n < 7; n++) created.push((await createPlan(api, { name: `P${n}` })).id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let round = 0;; round++) {
      const page: PlanPage = await plansPage(api, { first: 3, after });
      seen.push(...page.edges.map((e) => e.node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
      // Between pages: edit a plan already seen and one not yet seen, add a new one.
      for (const id of [created[0], created[6]]) {
        await api.data(
          `mutation { updatePlan(input: { id: "${id}", description: "edited ${round}" }) { id } }`,
        );
      }
      created.push((await createPlan(api, { name: `New${round}` })).id);
      // A plan already seen leaves the active list: the pages after it do not shift.
      await api.data(
        `mutation { updatePlan(input: { id: "${created[round]}", isActive: false }) { id } }`,
      );
    }
    // Plans made while paging come last, in the order they were made.
    assert.deepEqual(seen, ["P0", "P1", "P2", "P3", "P4", "P5", "P6", "New0", "New1"]);
  }),
);

Deno.test(
  "a cursor the connection did not give, or first over 100, is BAD_USER_INPUT",
  withApi(async (api) => {
    await createPlan(api, { name: "Gold" });
    const { createClient } = await api.data(
      `mutation { createClient(input: { name: "Ada", email: "ada@example.com" }) { id } }`,
    );
    const { clientsConnection } = await api.data(
      `{ clientsConnection { edges { cursor node { id } } } }`,
    );
    assert.equal(clientsConnection.edges[0].node.id, createClient.id);
    const clientCursor = clientsConnection.edges[0].cursor;
    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ["garbage", { after: "not-a-cursor!" }, /^after: not a cursor of plansConnection/],
      ["a number", { after: "42" }, /^after: not a cursor of plansConnection/],
      ["another connection's", { after: clientCursor }, /^after: not a cursor of plansConnection/],
      ["first: 101", { first: 101 }, /^first: from 0 to 100, not 101$/],
      ["first: -1", { first: -1 }, /^first: from 0 to 100, not -1$/],
    ];
    for (const [what, variables, message] of refusals) {
      const reply = await api.gql(PLANS_PAGE, variables);
      assert.equal(reply.body.data, null, what);
      assert.equal(reply.body.errors.length, 1, what);
      assert.equal(reply.body.errors[0].extensions.code, "BAD_USER_INPUT", what);
      assert.match(reply.body.errors[0].message, message, what);
    }
  }),
);

Deno.test(
  "clientsConnection and planSubscriptionsConnection page client data, by client and status",
  withApi(async (api) => {
    const w = writer(api.store);
    await w.createPlan("gold");
    await w.createTier("tier", "gold");
    for (const [id, name] of [["ada", "Ada"], ["bob", "Bob"], ["cy", "Cy"]]) {
      await w.client(id!, (at) => ({
        type: "CreateClient",
        data: { clientId: id!, at, name: name!, email: `${id}@example.com` },
      }));
    }
    for (const [n, clientId] of [[1, "ada"], [2, "bob"], [3, "ada"], [4, "ada"]] as const) {
      await checkout(w, { clientId, planId: "gold", priceTierId: "tier", n });
    }
    await w.subscription("sub-3", (at) => ({
      type: "CancelPlanSubscription",
      data: { planSubscriptionId: "sub-3", at },
    }));
    await settled(api);

    const { clientsConnection: clients } = await api.data(`{
      clientsConnection(first: 2) {
        edges { node { name subscriptions { id paymentConfirmation { id } } } }
        pageInfo { hasNextPage }
        totalCount
      }
    }`);
    assert.deepEqual(clients.edges.map((e: { node: unknown }) => e.node), [
      {
        name: "Ada",
        subscriptions: [
          { id: "sub-1", paymentConfirmation: { id: "pc-1" } },
          { id: "sub-3", paymentConfirmation: { id: "pc-3" } },
          { id: "sub-4", paymentConfirmation: { id: "pc-4" } },
        ],
      },
      { name: "Bob", subscriptions: [{ id: "sub-2", paymentConfirmation: { id: "pc-2" } }] },
    ]);
    assert.deepEqual([clients.pageInfo.hasNextPage, clients.totalCount], [true, 3]);

    const subscriptions = async (args: string) =>
      (await api.data(`{ planSubscriptionsConnection(${args}) {
        edges { node { id status } } totalCount
      } }`)).planSubscriptionsConnection;
    const adaActive = await subscriptions(`clientId: "ada", status: "active"`);
    assert.deepEqual(adaActive.edges.map((e: { node: { id: string } }) => e.node.id), [
      "sub-1",
      "sub-4",
    ]);
    assert.equal(adaActive.totalCount, 2);
    const canceled = await subscriptions(`status: "canceled"`);
    assert.deepEqual(canceled.edges, [{ node: { id: "sub-3", status: "canceled" } }]);
    assert.equal((await subscriptions(`first: 1`)).totalCount, 4);
    assert.equal((await subscriptions(`clientId: "cy"`)).totalCount, 0);
  }),
);
