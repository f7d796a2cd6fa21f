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
  "without a token every operation is refused over HTTP, queries and introspection included",
  withApi(async (api) => {
    const { plan } = await withClient(api);
    const before = (await api.store.readAll()).length;
    for (
      const query of [
        `{ plans { name } }`,
        `{ plan(id: "${plan.id}") { name } }`,
        `{ plansConnection { totalCount } }`,
        `{ __schema { queryType { name } } }`,
        `mutation { createPlan(input: { name: "Silver" }) { id } }`,
      ]
    ) {
      const reply = await api.gql(query, {}, { token: null });
      assert.equal(reply.status, 401, query);
      assert.equal(reply.headers.get("www-authenticate"), "Bearer");
      assert.equal(reply.body.data, undefined, query);
      assert.equal(reply.body.errors[0].extensions.code, "UNAUTHENTICATED");
      assert.match(reply.body.errors[0].message, /^every operation needs an Authorization header/);
    }
    assert.equal((await api.store.readAll()).length, before);
    // The GraphiQL page itself loads without one.
    const page = await api.request({ method: "GET", headers: { accept: "text/html" } });
    assert.equal(page.status, 200);
  }),
);

Deno.test(
  "with public reads the catalog answers without a token; mutations, client data and stored events do not",
  withApi(async (api) => {
    const { plan, tier, client } = await withClient(api);
    const open = await api.gql(
      `{ plans { name } plan(id: "${plan.id}") { name } priceTier(id: "${tier.id}") { unitAmount }
         plansConnection { edges { node { name } } } __schema { queryType { name } } }`,
      {},
      { token: null },
    );
    assert.equal(open.body.errors, undefined);
    assert.deepEqual(open.body.data.plans, [{ name: "Gold" }]);
    assert.deepEqual(open.body.data.plansConnection.edges, [{ node: { name: "Gold" } }]);
    assert.equal(open.body.data.priceTier.unitAmount, 1000);

    const closed: [string, string][] = [
      ["clients", `{ clients { email } }`],
      ["client", `{ client(id: "${client.id}") { email } }`],
      ["planSubscriptions", `{ planSubscriptions { clientId } }`],
      ["paymentConfirmations", `{ paymentConfirmations { clientId } }`],
      ["clientsConnection", `{ clientsConnection { edges { node { email } } } }`],
      [
        "planSubscriptionsConnection",
        `{ planSubscriptionsConnection { edges { node { clientId } } } }`,
      ],
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

    const mutation = await api.gql(
      `mutation { createPlan(input: { name: "Silver" }) { id } }`,
      {},
      {
        token: null,
      },
    );
    assert.equal(mutation.body.errors[0].extensions.code, "UNAUTHENTICATED");
    assert.match(mutation.body.errors[0].message, /^the mutation createPlan needs/);

    const { clients } = await api.data(`{ clients { email } }`);
    assert.deepEqual(clients, [{ email: "ada@example.com" }]);
  }, { publicReads: true }),
);
