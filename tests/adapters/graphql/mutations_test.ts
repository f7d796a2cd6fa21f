import assert from "node:assert/strict";
import { createPlan, createTier, PLAN_FIELDS, withApi } from "./harness.ts";

Deno.test(
  "createPlan returns the plan it created, and queries see it at once",
  withApi(async (api) => {
    const plan = await createPlan(api, {
      name: "  Gold ",
      description: "All features",
      iconUrl: "https://example.com/gold.png",
    });
    assert.match(plan.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...plan, id: undefined }, {
      id: undefined,
      name: "Gold",
      description: "All features",
      iconUrl: "https://example.com/gold.png",
      isActive: true,
      isDeleted: false,
      stripeProductId: null,
      syncStatus: "PENDING",
      syncError: null,
      version: 0,
      createdAt: "2025-03-01T10:00:00.000Z",
      updatedAt: "2025-03-01T10:00:00.000Z",
      priceTiers: [],
    });
    const { plan: queried } = await api.data(
      `query($id: ID!) { plan(id: $id) { ${PLAN_FIELDS} } }`,
      {
        id: plan.id,
      },
    );
    assert.deepEqual(queried, plan);
  }),
);

Deno.test(
  "createPlan records who asked: the request id and operation in the event's metadata",
  withApi(async (api) => {
    const reply = await api.request({
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer test-token-0123456789abcdef`,
        "x-request-id": "req-42",
      },
      body: JSON.stringify({ query: `mutation { createPlan(input: { name: "Gold" }) { id } }` }),
    });
    assert.equal(reply.headers.get("x-request-id"), "req-42");
    const [event] = await api.store.readStream(`plan-${reply.body.data.createPlan.id}`);
    assert.equal(event?.type, "PlanCreated");
    assert.deepEqual(event?.metadata.cause, {
      kind: "graphql",
      requestId: "req-42",
      operation: "createPlan",
    });
    assert.equal(event?.metadata.correlationId, "req-42");
  }),
);

Deno.test(
  "updatePlan changes what it is given, bumps the version, and clears a field set to null",
  withApi(async (api) => {
    const plan = await createPlan(api, { name: "Gold", description: "Old" });
    const { updatePlan } = await api.data(
      `mutation($input: UpdatePlanInput!) { updatePlan(input: $input) { ${PLAN_FIELDS} } }`,
      {
        input: {
          id: plan.id,
          name: "Platinum",
          description: null,
          isActive: false,
          expectedVersion: 0,
        },
      },
    );
    assert.equal(updatePlan.name, "Platinum");
    assert.equal(updatePlan.description, null);
    assert.equal(updatePlan.isActive, false);
    assert.equal(updatePlan.version, 1);

    // Nothing to change: no new event, the same version.
    const again = await api.data(
      `mutation($input: UpdatePlanInput!) { updatePlan(input: $input) { name version } }`,
      { input: { id: plan.id, name: "Platinum" } },
    );
    assert.deepEqual(again.updatePlan, { name: "Platinum", version: 1 });
    assert.equal((await api.store.readStream(`plan-${plan.id}`)).length, 2);
  }),
);

Deno.test(
  "deletePlan archives the plan: it leaves the default list but stays readable as deleted",
  withApi(async (api) => {
    const gold = await createPlan(api, { name: "Gold" });
    await createPlan(api, { name: "Silver" });
    const { deletePlan } = await api.data(`mutation($id: ID!) { deletePlan(id: $id) }`, {
      id: gold.id,
    });
    assert.equal(deletePlan, gold.id);

    const listed = await api.data(`{
      active: plans { name }
      all: plans(includeInactive: true) { name isActive isDeleted }
    }`);
    assert.deepEqual(listed.active, [{ name: "Silver" }]);
    assert.deepEqual(listed.all, [
      { name: "Gold", isActive: false, isDeleted: true },
      { name: "Silver", isActive: true, isDeleted: false },
    ]);
    // Deleting twice is no error: the plan is deleted either way.
    assert.equal((await api.data(`mutation { deletePlan(id: "${gold.id}") }`)).deletePlan, gold.id);
  }),
);

Deno.test(
  "createPriceTier returns the tier under its plan, in GraphQL's enum and ISO 4217 lower case",
  withApi(async (api) => {
    const plan = await createPlan(api);
    const tier = await createTier(api, plan.id, {
      name: "Monthly",
      unitAmount: 1999,
      currency: "USD",
      interval: "MONTH",
      intervalCount: 3,
    });
    assert.deepEqual({ ...tier, id: undefined }, {
      id: undefined,
      planId: plan.id,
      name: "Monthly",
      unitAmount: 1999,
      currency: "usd",
      interval: "MONTH",
      intervalCount: 3,
      isActive: true,
    });
    const oneTime = await createTier(api, plan.id, { interval: null, unitAmount: 5000 });
    assert.equal(oneTime.interval, null);
    assert.equal(oneTime.intervalCount, null);

    const { plan: withTiers } = await api.data(
      `query($id: ID!) { plan(id: $id) { version priceTiers { id unitAmount } } }`,
      { id: plan.id },
    );
    assert.deepEqual(withTiers.priceTiers, [
      { id: tier.id, unitAmount: 1999 },
      { id: oneTime.id, unitAmount: 5000 },
    ]);
    assert.equal(withTiers.version, 0, "a tier does not change its plan's stream");
  }),
);

Deno.test(
  "deletePriceTier archives the tier: its plan still lists it, inactive",
  withApi(async (api) => {
    const plan = await createPlan(api);
    const tier = await createTier(api, plan.id);
    const { deletePriceTier } = await api.data(`mutation($id: ID!) { deletePriceTier(id: $id) }`, {
      id: tier.id,
    });
    assert.equal(deletePriceTier, tier.id);
    const { priceTier, plan: after } = await api.data(
      `query($tier: ID!, $plan: ID!) {
        priceTier(id: $tier) { id isActive }
        plan(id: $plan) { priceTiers { id isActive } }
      }`,
      { tier: tier.id, plan: plan.id },
    );
    assert.deepEqual(priceTier, { id: tier.id, isActive: false });
    assert.deepEqual(after.priceTiers, [{ id: tier.id, isActive: false }]);
  }),
);

Deno.test(
  "createClient returns the client it created, e-mail normalised",
  withApi(async (api) => {
    const { createClient } = await api.data(
      `mutation { createClient(input: { name: "Ada", email: " Ada@Example.COM " }) {
        id name email stripeCustomerId syncStatus subscriptions { id }
      } }`,
    );
    assert.deepEqual({ ...createClient, id: undefined }, {
      id: undefined,
      name: "Ada",
      email: "ada@example.com",
      stripeCustomerId: null,
      syncStatus: "PENDING",
      subscriptions: [],
    });
  }),
);
