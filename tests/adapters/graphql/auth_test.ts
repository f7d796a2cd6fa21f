import assert from "node:assert/strict";
import { checkout, writer } from "../../application/projections/events.ts";
import { type Api, createPlan, createTier, withApi } from "./harness.ts";

const WRONG = "test-token-0123456789abcdeX";

/** A catalog with a client who bought a tier: something private to find. */
const withClient = async (api: Api) => {
  const plan = await createPlan(api, { name: "Gold" });
  const tier = await createTier(api, plan.id);
  const { createClient: client } = await api.data(
    `mutation { createClient(input: { name: "Ada", email: "ada@example.com" }) { id } }`,
  );
  await checkout(writer(api.store), {
    clientId: client.id,
    planId: plan.id,
    priceTierId: tier.id,
    n: 1,
  });
  const last = (await api.store.readAll({ limit: 100_000 })).at(-1)!.position;
  assert.equal(await api.projector.waitFor(last, 5000), true);
  return { plan, tier, client };
};

Deno.test(
  "a wrong token refuses any operation over HTTP, queries and introspection included",
  withApi(async (api) => {
    await withClient(api);
    const operations = [
      `{ plans { name } }`,
      `{ clients { email } }`,
      `{ __schema { queryType { name } } }`,
      `mutation { createPlan(input: { name: "Silver" }) { id } }`,
    ];
    const before = (await api.store.readAll()).length;
    for (const query of operations) {
      const reply = await api.gql(query, {}, { token: WRONG });
      assert.equal(reply.status, 401, query);
      assert.equal(reply.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
      assert.deepEqual(reply.body, {
        errors: [{
          message: "the bearer token is not valid",
          extensions: { code: "UNAUTHENTICATED" },
        }],
      });
    }
    const get = await api.request({
      url: `http://localhost/graphql?query=${encodeURIComponent("{ plans { name } }")}`,
      method: "GET",
      headers: { accept: "application/graphql-response+json", authorization: `Bearer ${WRONG}` },
    });
    assert.equal(get.status, 401);
    assert.equal(get.body.data, undefined);
    assert.equal((await api.store.readAll()).length, before);
  }),
);

Deno.test(
  "without a token the catalog and introspection answer, client data and stored events do not",
  withApi(async (api) => {
    const { plan, tier, client } = await withClient(api);
    const open = await api.gql(
      `{ plans { name } plan(id: "${plan.id}") { name } priceTier(id: "${tier.id}") { unitAmount }
         __schema { queryType { name } } }`,
      {},
      { token: null },
    );
    assert.equal(open.body.errors, undefined);
    assert.deepEqual(open.body.data.plans, [{ name: "Gold" }]);
    assert.equal(open.body.data.priceTier.unitAmount, 1000);

    const closed: [string, string][] = [
      ["clients", `{ clients { email } }`],
      ["client", `{ client(id: "${client.id}") { email } }`],
      ["planSubscriptions", `{ planSubscriptions { clientId } }`],
      ["paymentConfirmations", `{ paymentConfirmations { clientId } }`],
      ["streamEvents", `{ streamEvents(streamId: "client-${client.id}") { data } }`],
    ];
    for (const [field, query] of closed) {
      const reply = await api.gql(query, {}, { token: null });
      assert.equal(reply.body.errors?.length, 1, field);
      const [error] = reply.body.errors;
      assert.equal(error.extensions.code, "UNAUTHENTICATED", field);
      assert.deepEqual(error.path, [field]);
      assert.match(
        error.message,
        new RegExp(`^the query ${field} .*needs an Authorization header`),
      );
      assert.doesNotMatch(JSON.stringify(reply.body), /ada@example\.com|Ada/, field);
    }

    // Field by field: the public part of an operation still answers.
    const mixed = await api.gql(
      `{ plan(id: "${plan.id}") { name } client(id: "${client.id}") { email } }`,
      {},
      { token: null },
    );
    assert.deepEqual(mixed.body.data, { plan: { name: "Gold" }, client: null });
    assert.deepEqual(mixed.body.errors.map((e: { path: string[] }) => e.path), [["client"]]);

    const { clients } = await api.data(`{ clients { email } }`);
    assert.deepEqual(clients, [{ email: "ada@example.com" }]);
  }),
);
