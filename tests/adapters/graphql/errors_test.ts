import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { type Api, createPlan, harness, withApi } from "./harness.ts";

const eventCount = async (api: Api) => (await api.store.readAll({ limit: 100_000 })).length;

/** The single error of a refused operation, and proof that it wrote nothing. */
const refused = async (
  api: Api,
  query: string,
  variables: Record<string, unknown> = {},
  options?: { token?: string | null },
) => {
  const before = await eventCount(api);
  const reply = await api.gql(query, variables, options);
  assert.equal(reply.body.errors?.length, 1, JSON.stringify(reply.body));
  assert.equal(await eventCount(api), before, "a refused mutation writes nothing");
  return reply.body.errors[0];
};

Deno.test(
  "a domain rule broken by the input is BAD_USER_INPUT, with the rule as reason",
  withApi(async (api) => {
    const blank = await refused(api, `mutation { createPlan(input: { name: "   " }) { id } }`);
    assert.equal(blank.extensions.code, "BAD_USER_INPUT");
    assert.equal(blank.extensions.reason, "PlanNameEmpty");
    assert.match(blank.message, /needs a name/);
    assert.deepEqual(blank.path, ["createPlan"]);

    const plan = await createPlan(api);
    const currency = await refused(
      api,
      `mutation($input: CreatePriceTierInput!) { createPriceTier(input: $input) { id } }`,
      { input: { planId: plan.id, unitAmount: 100, currency: "dollars" } },
    );
    assert.equal(currency.extensions.code, "BAD_USER_INPUT");
    assert.equal(currency.extensions.reason, "CurrencyInvalid");

    const icon = await refused(
      api,
      `mutation { updatePlan(input: { id: "${plan.id}", iconUrl: "not a url" }) { id } }`,
    );
    assert.equal(icon.extensions.reason, "PlanIconUrlInvalid");
  }),
);

Deno.test(
  "input the edge refuses is BAD_USER_INPUT naming the field",
  withApi(async (api) => {
    const long = await refused(
      api,
      `mutation($name: String!) { createPlan(input: { name: $name }) { id } }`,
      { name: "x".repeat(251) },
    );
    assert.equal(long.extensions.code, "BAD_USER_INPUT");
    assert.match(long.message, /^input\.name: at most 250 characters/);

    const badId = await refused(api, `mutation { deletePlan(id: "../etc/passwd") }`);
    assert.equal(badId.extensions.code, "BAD_USER_INPUT");
    assert.match(badId.message, /^id: must be an id/);

    const version = await refused(
      api,
      `mutation { updatePlan(input: { id: "abc", expectedVersion: -1 }) { id } }`,
    );
    assert.match(version.message, /input\.expectedVersion: must be 0 or more/);
  }),
);

Deno.test(
  "streamEvents refuses EventStoreDB's system streams ($-prefixed) as BAD_USER_INPUT",
  withApi(async (api) => {
    const plan = await createPlan(api);
    await api.store.append(`$$plan-${plan.id}`, [{
      type: "$metadata",
      data: { $maxCount: 1 },
      metadata: {
        eventId: "meta-1",
        correlationId: "t",
        causationId: "t",
        cause: { kind: "system", reason: "test" },
      },
    }], "any");
    for (const streamId of [`$$plan-${plan.id}`, "$nudges-checkpoint-projections", "$settings"]) {
      const error = await refused(
        api,
        `query($s: String!) { streamEvents(streamId: $s) { type } }`,
        {
          s: streamId,
        },
      );
      assert.equal(error.extensions.code, "BAD_USER_INPUT", streamId);
      assert.match(error.message, /^streamId: must not start with \$/, streamId);
    }
    const { streamEvents } = await api.data(
      `query($s: String!) { streamEvents(streamId: $s) { type } }`,
      { s: `plan-${plan.id}` },
    );
    assert.deepEqual(streamEvents, [{ type: "PlanCreated" }]);
  }),
);

Deno.test(
  "an id that names nothing is NOT_FOUND",
  withApi(async (api) => {
    const update = await refused(
      api,
      `mutation { updatePlan(input: { id: "missing", name: "x" }) { id } }`,
    );
    assert.equal(update.extensions.code, "NOT_FOUND");
    assert.equal(update.extensions.reason, "PlanNotFound");

    const tier = await refused(
      api,
      `mutation { createPriceTier(input: { planId: "missing", unitAmount: 1, currency: "usd" }) { id } }`,
    );
    assert.equal(tier.extensions.code, "NOT_FOUND");
    assert.match(tier.message, /no plan missing/);

    const deleteTier = await refused(api, `mutation { deletePriceTier(id: "missing") }`);
    assert.equal(deleteTier.extensions.code, "NOT_FOUND");
  }),
);

Deno.test(
  "a stale expectedVersion, or a change to a deleted plan, is CONFLICT",
  withApi(async (api) => {
    const plan = await createPlan(api);
    await api.data(`mutation { updatePlan(input: { id: "${plan.id}", name: "v1" }) { id } }`);
    const stale = await refused(
      api,
      `mutation { updatePlan(input: { id: "${plan.id}", name: "v2", expectedVersion: 0 }) { id } }`,
    );
    assert.equal(stale.extensions.code, "CONFLICT");
    assert.equal(stale.extensions.reason, "StaleVersion");
    assert.match(stale.message, /is at version 1, not the expected version 0/);

    await api.data(`mutation { deletePlan(id: "${plan.id}") }`);
    const deleted = await refused(
      api,
      `mutation { updatePlan(input: { id: "${plan.id}", name: "v3" }) { id } }`,
    );
    assert.equal(deleted.extensions.code, "CONFLICT");
    assert.equal(deleted.extensions.reason, "PlanDeleted");

    const tier = await refused(
      api,
      `mutation { createPriceTier(input: { planId: "${plan.id}", unitAmount: 1, currency: "usd" }) { id } }`,
    );
    assert.equal(tier.extensions.code, "CONFLICT");
    assert.match(tier.message, /is deleted; it takes no new price tiers/);
  }),
);

Deno.test(
  "a mutation without the token, or with a wrong one, is UNAUTHENTICATED and does nothing",
  withApi(async (api) => {
    const mutation = `mutation { createPlan(input: { name: "Gold" }) { id } }`;
    const missing = await refused(api, mutation, {}, { token: null });
    assert.equal(missing.extensions.code, "UNAUTHENTICATED");
    assert.match(missing.message, /Authorization header: Bearer <PRODUCT_API_TOKEN>/);

    const wrong = await refused(api, mutation, {}, { token: "test-token-0123456789abcdeX" });
    assert.equal(wrong.extensions.code, "UNAUTHENTICATED");
    assert.equal(wrong.message, "the bearer token is not valid");

    // Checked before the input: a stranger learns nothing about what would be accepted.
    const invalid = await refused(api, `mutation { createPlan(input: { name: "" }) { id } }`, {}, {
      token: null,
    });
    assert.equal(invalid.extensions.code, "UNAUTHENTICATED");
  }),
);

Deno.test("an unexpected failure is masked for the client and logged for the operator", async () => {
  const store = memoryEventStore();
  const api = harness({
    store: {
      ...store,
      append: () => Promise.reject(new Error("disk on fire at /var/secret")),
    },
  });
  try {
    const reply = await api.gql(`mutation { createPlan(input: { name: "Gold" }) { id } }`);
    assert.deepEqual(reply.body.data, null);
    assert.equal(reply.body.errors[0].message, "Internal server error");
    assert.equal(reply.body.errors[0].extensions.code, "INTERNAL_SERVER_ERROR");
    assert.doesNotMatch(JSON.stringify(reply.body), /disk on fire/);
    const logged = api.logs.find((line) => line.level === "error");
    assert.match(JSON.stringify(logged), /disk on fire/);
    assert.doesNotMatch(JSON.stringify(api.logs), /test-token-0123456789abcdef/);
  } finally {
    await api.close();
  }
});
