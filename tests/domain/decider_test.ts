// The given/when/then helper must fail when a decider misbehaves, or the domain tests prove
// nothing: a toy counter decider that refuses negatives and ignores zero.
import assert from "node:assert/strict";
import { type Decider, fold, invalid } from "../../domain/decider.ts";
import { spec } from "./decider_spec.ts";

type Added = { type: "Added"; data: { n: number } };
const counter: Decider<{ type: "Add"; data: { n: number } }, Added, number> = {
  initialState: () => 0,
  decide: ({ data: { n } }) => {
    if (n < 0) throw invalid("Negative", `cannot add ${n}`);
    if (n > 100) throw new RangeError("not a domain error");
    return n === 0 ? [] : [{ type: "Added", data: { n } }];
  },
  evolve: (total, event) => total + event.data.n,
};
const add = (n: number) => ({ type: "Add" as const, data: { n } });
const added = (n: number): Added => ({ type: "Added", data: { n } });
const counting = spec(counter);

Deno.test("fold() evolves the events in order from the initial state", () => {
  assert.equal(fold(counter, []), 0);
  assert.equal(fold(counter, [added(2), added(3)]), 5);
});

Deno.test("DomainError carries its code, kind and message", () => {
  const error = invalid("Negative", "cannot add -1");
  assert.ok(error instanceof Error);
  assert.deepEqual([error.code, error.kind, error.message], [
    "Negative",
    "invalid",
    "cannot add -1",
  ]);
});

Deno.test("spec() then() passes on the decided events and fails on others", () => {
  counting.given([added(1)]).when(add(2)).then([added(2)]);
  assert.throws(() => counting.given([]).when(add(2)).then([added(3)]), assert.AssertionError);
  assert.throws(() => counting.given([]).when(add(0)).then([added(0)]), assert.AssertionError);
});

Deno.test("spec() thenNothing() fails when the command produces events", () => {
  counting.given([]).when(add(0)).thenNothing();
  assert.throws(() => counting.given([]).when(add(1)).thenNothing(), assert.AssertionError);
});

Deno.test("spec() thenRefused() checks the code, the kind and the message", () => {
  counting.given([]).when(add(-1)).thenRefused("Negative", "invalid", /-1/);
  const refused = (code: string, kind: "invalid" | "conflict", n = -1, message?: RegExp) => () =>
    counting.given([]).when(add(n)).thenRefused(code, kind, message);
  assert.throws(refused("Other", "invalid"), assert.AssertionError);
  assert.throws(refused("Negative", "conflict"), assert.AssertionError);
  assert.throws(refused("Negative", "invalid", -1, /nope/), assert.AssertionError);
  assert.throws(refused("Negative", "invalid", 1), assert.AssertionError);
  assert.throws(refused("Negative", "invalid", 101), assert.AssertionError);
});

Deno.test("spec() thenState() compares the folded state", () => {
  counting.given([added(1), added(2)]).thenState(3);
  assert.throws(() => counting.given([added(1)]).thenState(2), assert.AssertionError);
});
