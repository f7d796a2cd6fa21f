import assert from "node:assert/strict";
import { planUpdates } from "../../../adapters/graphql/plan_updates.ts";
import type { PlanWithTiers } from "../../../application/projections/fold.ts";

/** A projector that announces plan changes when told. */
const announcer = () => {
  const listeners = new Set<(plan: PlanWithTiers) => void>();
  return {
    onPlanChanged(listener: (plan: PlanWithTiers) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    announce(id: string, name: string) {
      for (const listener of listeners) listener({ id, name } as PlanWithTiers);
    },
  };
};

/** What a subscriber that only now reads gets from what was queued. */
const drain = async (updates: ReturnType<typeof planUpdates>, count: number) => {
  const got: string[] = [];
  for (let i = 0; i < count; i++) {
    const { value } = await updates.next();
    got.push(`${value!.id}:${value!.name}`);
  }
  await updates.return();
  return got;
};

Deno.test("planUpdates() queues every change for a subscriber that is a little behind", async () => {
  const projector = announcer();
  const updates = planUpdates(projector, null, 4);
  projector.announce("a", "1");
  projector.announce("b", "1");
  projector.announce("a", "2");
  assert.deepEqual(await drain(updates, 3), ["a:1", "b:1", "a:2"]);
});

Deno.test(
  "planUpdates() keeps every plan's latest state for a subscriber far behind on all plans",
  async () => {
    const projector = announcer();
    const updates = planUpdates(projector, null, 4);
    projector.announce("a", "final");
    for (let n = 1; n <= 10; n++) projector.announce("b", String(n));
    projector.announce("c", "final");
    assert.deepEqual(await drain(updates, 3), ["a:final", "b:10", "c:final"]);
  },
);

Deno.test("planUpdates() drops nothing when more plans than its limit are behind", async () => {
  const projector = announcer();
  const updates = planUpdates(projector, null, 4);
  const ids = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
  for (const id of ids) projector.announce(id, "1");
  projector.announce("a", "2");
  assert.deepEqual(await drain(updates, 10), [...ids.slice(1).map((id) => `${id}:1`), "a:2"]);
});
