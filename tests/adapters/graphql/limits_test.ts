import assert from "node:assert/strict";
import { getIntrospectionQuery } from "graphql";
import { writer } from "../../application/projections/events.ts";
import { type Api, TOKEN, withApi } from "./harness.ts";

Deno.test(
  "the full introspection query that GraphiQL and client tools send is within the limits",
  withApi(async (api) => {
    const reply = await api.gql(
      getIntrospectionQuery({
        descriptions: true,
        inputValueDeprecation: true,
        specifiedByUrl: true,
      }),
    );
    assert.equal(reply.body.errors, undefined);
    assert.equal(reply.body.data.__schema.queryType.name, "Query");
  }),
);

Deno.test(
  "an operation nested deeper than the limit is refused before it runs",
  withApi(async (api) => {
    const ofType = (depth: number): string =>
      depth === 0 ? "name" : `ofType { ${ofType(depth - 1)} }`;
    const deep = await api.gql(`{ __type(name: "Plan") { ${ofType(14)} } }`);
    assert.equal(deep.body.data, undefined);
    assert.equal(deep.body.errors[0].extensions.code, "BAD_USER_INPUT");
    assert.match(deep.body.errors[0].message, /nests 16 fields deep; at most 15/);

    const fine = await api.gql(`{ __type(name: "Plan") { ${ofType(13)} } }`);
    assert.equal(fine.body.errors, undefined);
  }),
);

/** `plans` plans with `tiers` tiers each, straight through the command handler. */
const catalog = async (api: Api, plans: number, tiers: number, from = 0) => {
  const w = writer(api.store);
  for (let p = from; p < plans; p++) {
    await w.createPlan(`plan-${p}`);
    for (let t = 0; t < tiers; t++) await w.createTier(`tier-${p}-${t}`, `plan-${p}`);
  }
  const last = (await api.store.readAll({ limit: 1_000_000 })).at(-1)!.position;
  assert.equal(await api.projector.waitFor(last, 10_000), true);
};

Deno.test(
  "an operation that could return too much is refused, lists counted by what they hold",
  withApi(async (api) => {
    await catalog(api, 5, 2);
    const aliases = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `p${i}: plans { ...P }`).join(" ")} }
      fragment P on Plan { id name priceTiers { id unitAmount currency interval } }`;
    // Each alias: 1 + 5 plans × (id, name, priceTiers: 1 + 2 tiers × 4 fields) = 56.
    const fine = await api.gql(aliases(20));
    assert.equal(fine.body.errors, undefined);
    assert.equal(fine.body.data.p19.length, 5);

    await catalog(api, 10, 2, 5);
    // The same operation over twice the catalog: 20 × (1 + 10 × 11) = 2,220.
    const costly = await api.gql(aliases(20));
    assert.equal(costly.body.data, undefined);
    assert.equal(costly.body.errors[0].extensions.code, "BAD_USER_INPUT");
    assert.equal(costly.body.errors[0].extensions.reason, "QueryTooComplex");
    assert.match(costly.body.errors[0].message, /could return about 2220 fields; at most 2000/);

    // A fragment spread over and over costs what it returns, and validating it stays cheap.
    const fragments = Array.from(
      { length: 40 },
      (_, i) =>
        `fragment F${i} on Query { ${i === 39 ? "plans { id }" : `...F${i + 1} ...F${i + 1}`} }`,
    );
    const bomb = await api.gql(`{ ...F0 } ${fragments.join(" ")}`);
    assert.match(bomb.body.errors[0].message, /could return about \d+ fields/);
  }, { limits: { maxCost: 2000 } }),
);

Deno.test(
  "a connection costs its page: first as written, its default 50, or 100 for a variable",
  withApi(async (api) => {
    await catalog(api, 3, 1);
    const page = (first: string) => `{ plansConnection${first} { edges { node { id } } } }`;
    // 1 + first × (edges 1 + node 1 + id 1), whatever the catalog holds.
    const big = await api.gql(page("(first: 100)"));
    assert.match(big.body.errors[0].message, /could return about 301 fields; at most 250/);
    const variable = await api.gql(`query($n: Int) ${page("(first: $n)")}`, { n: 1 });
    assert.match(variable.body.errors[0].message, /could return about 301 fields/);
    for (const fine of [page("(first: 80)"), page("")]) {
      const reply = await api.gql(fine);
      assert.equal(reply.body.errors, undefined, fine);
      assert.equal(reply.body.data.plansConnection.edges.length, 3);
    }
  }, { limits: { maxCost: 250 } }),
);

Deno.test(
  "900 aliases of plans over a big catalog are refused before they run",
  withApi(async (api) => {
    await catalog(api, 1000, 0);
    const aliases = Array.from({ length: 900 }, (_, i) => `p${i}: plans { id }`).join(" ");
    // Costed at 10 items a list this was 9,900 and ran, reading 900,000 plans.
    const reply = await api.gql(`{ ${aliases} }`);
    assert.equal(reply.body.data, undefined);
    assert.equal(reply.body.errors[0].extensions.reason, "QueryTooComplex");
    assert.match(reply.body.errors[0].message, /could return about 900900 fields; at most 500000/);

    const one = await api.gql(`{ plans { id } }`);
    assert.equal(one.body.data.plans.length, 1000);
  }),
);

Deno.test(
  "a request body over the limit is refused with 413 and never parsed",
  withApi(async (api) => {
    const reply = await api.request({
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: `{ plans { id } }`, padding: "x".repeat(2048) }),
    });
    assert.equal(reply.status, 413);
    assert.match(reply.body.errors[0].message, /larger than 1024 bytes/);

    // A body that hides its length is cut off at the limit as well.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(200)));
        controller.close();
      },
    });
    const streamed = await api.request({
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: chunks,
    });
    assert.equal(streamed.status, 413);
  }, { limits: { maxBodyBytes: 1024 } }),
);
