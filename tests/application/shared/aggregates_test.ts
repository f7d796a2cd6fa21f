import assert from "node:assert/strict";
import { aggregateOf } from "../../../application/shared/aggregates.ts";

Deno.test("aggregateOf() goes by the exact prefix before the first dash", () => {
  assert.deepEqual(aggregateOf("plan-a-b"), { kind: "plan", id: "a-b" });
  assert.deepEqual(aggregateOf("planSubscription-x"), { kind: "planSubscription", id: "x" });
  assert.equal(aggregateOf("stripeEvent-evt_1"), null);
  assert.equal(aggregateOf("stripeProductOwner-prod_1"), null);
  assert.equal(aggregateOf("toString-1"), null);
  assert.equal(aggregateOf("plan"), null);
});
