import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { memoryReadModel } from "../../../adapters/readmodel/memory.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { foldEvents, type PlanWithTiers } from "../../../application/projections/fold.ts";
import { startProjector } from "../../../application/projections/projector.ts";
import {
  COLLECTIONS,
  type ReadModelStore,
  type ReadView,
} from "../../../application/ports/read_model.ts";
import { leaseCommands, TRUNCATE_EVERY } from "../../../application/lease/commands.ts";
import { leaseStream } from "../../../application/lease/lease.ts";
import { steppingClock } from "../../support/clocks.ts";
import { AT, writer } from "./events.ts";

const lastPosition = async (store: EventStore) =>
  (await store.readAll({ limit: 1_000_000 })).at(-1)?.position ?? 0;

const caughtUp = async (projector: ReturnType<typeof startProjector>, store: EventStore) =>
  assert.equal(await projector.waitFor(await lastPosition(store), 5000), true);

const documents = (view: ReadView) => COLLECTIONS.map((c) => view.list(c));

const everything = async (store: EventStore) =>
  documents(foldEvents(await store.readAll({ limit: 1_000_000 })).view);

Deno.test("startProjector() projects what was stored before it started, then what follows", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  await w.createPlan("p1", "Gold");
  const projector = startProjector({ store, readModel: memoryReadModel() });
  try {
    await caughtUp(projector, store);
    assert.equal(projector.view.get("plans", "p1")?.name, "Gold");

    const { position } = await w.createTier("t1", "p1");
    assert.equal(await projector.waitFor(position!, 5000), true);
    assert.equal(projector.view.list("priceTiers", "p1")[0]?.id, "t1");
    assert.equal(projector.status(), "live");
  } finally {
    await projector.stop();
  }
  assert.equal(projector.status(), "stopped");
});

Deno.test("waitFor() answers false when the position is not reached in time or the projector stopped", async () => {
  const store = memoryEventStore();
  const projector = startProjector({ store, readModel: memoryReadModel() });
  assert.equal(await projector.waitFor(99, 10), false);
  await projector.stop();
  assert.equal(await projector.waitFor(99, 60_000), false);
});

Deno.test("a restarted projector resumes from its checkpoint: nothing lost, nothing applied twice", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  const readModel = memoryReadModel();
  await w.createPlan("p1");
  await w.createTier("t1", "p1");
  const first = startProjector({ store, readModel });
  await caughtUp(first, store);
  await first.stop();

  await w.createPlan("p2");
  await w.plan("p1", (at) => ({ type: "UpdatePlan", data: { planId: "p1", at, name: "New" } }));
  // A subscription that delivers everything again, as an at-least-once store may.
  const redelivering: EventStore = {
    ...store,
    subscribeAll: (options) => store.subscribeAll({ ...options, subscriberId: "from-the-start" }),
  };
  const second = startProjector({ store: redelivering, readModel });
  const seen: string[] = [];
  second.onPlanChanged((plan) => seen.push(`${plan.id}@${plan.version}`));
  try {
    await caughtUp(second, store);
    assert.deepEqual(seen, ["p2@0", "p1@1"]);
    assert.deepEqual(documents(readModel), await everything(store));
  } finally {
    await second.stop();
  }
});

Deno.test("a projection that fails mid-way keeps its last commit, and a new one finishes the job", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  for (let i = 0; i < 5; i++) await w.createPlan(`p${i}`);
  const readModel = memoryReadModel();
  let commits = 0;
  const failing: ReadModelStore = {
    ...readModel,
    commit(changes, checkpoint) {
      if (++commits === 2) throw new Error("disk full");
      readModel.commit(changes, checkpoint);
    },
  };
  const first = startProjector({ store, readModel: failing, batchSize: 2 });
  await assert.rejects(first.done, /disk full/);
  assert.equal(first.status(), "failed");
  assert.equal(readModel.checkpoint().position, 2);

  const second = startProjector({ store, readModel, batchSize: 2 });
  try {
    await caughtUp(second, store);
    assert.deepEqual(documents(readModel), await everything(store));
  } finally {
    await second.stop();
  }
});

Deno.test("a read model built from another event store is rebuilt from this one", async () => {
  const readModel = memoryReadModel();
  const old = memoryEventStore();
  await writer(old).createPlan("old");
  const first = startProjector({ store: old, readModel });
  await caughtUp(first, old);
  await first.stop();

  const store = memoryEventStore();
  await writer(store).createPlan("new");
  const second = startProjector({ store, readModel });
  try {
    await caughtUp(second, store);
    assert.deepEqual(readModel.list("plans").map((p) => p.id), ["new"]);
  } finally {
    await second.stop();
  }
});

Deno.test("a read model whose checkpoint is a lease renewal truncated since is not rebuilt", async () => {
  const store = memoryEventStore();
  await writer(store).createPlan("p1", "Gold");
  const lease = leaseCommands({ store, name: "outbox", holder: "a" });
  const clock = steppingClock(AT, 20_000);
  const renew = async (upTo: number) => {
    while (((await store.readStream(leaseStream("outbox"))).at(-1)?.revision ?? -1) < upTo) {
      await lease.acquire(clock(), 60_000);
    }
  };
  let resets = 0;
  const readModel = memoryReadModel();
  const watched: ReadModelStore = { ...readModel, reset: () => (resets++, readModel.reset()) };
  // Checkpoints on a renewal that is truncated away later, then on one kept past the
  // truncation (the stream's third event, at revision TRUNCATE_EVERY + 2).
  for (const [checkpointAt, renewedTo] of [[4, TRUNCATE_EVERY + 2], [TRUNCATE_EVERY + 2, 0]]) {
    await renew(checkpointAt!);
    const first = startProjector({ store, readModel: watched });
    await caughtUp(first, store);
    await first.stop();
    assert.equal(readModel.checkpoint().revision, checkpointAt);
    await renew(renewedTo!);
    const again = startProjector({ store, readModel: watched });
    try {
      await caughtUp(again, store);
    } finally {
      await again.stop();
    }
  }
  assert.equal(resets, 0, "the read model was rebuilt");
  assert.deepEqual(readModel.list("plans").map((p) => p.name), ["Gold"]);
});

Deno.test("onPlanChanged() tells every change of a plan in order, its tiers' changes included", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  const projector = startProjector({ store, readModel: memoryReadModel() });
  const seen: PlanWithTiers[] = [];
  const stop = projector.onPlanChanged((plan) => seen.push(plan));
  try {
    await w.createPlan("p1", "Gold");
    await w.plan("p1", (at) => ({ type: "UpdatePlan", data: { planId: "p1", at, name: "Gilt" } }));
    await w.createTier("t1", "p1");
    await w.plan("p1", (at) => ({
      type: "LinkStripeProduct",
      data: { planId: "p1", at, stripeProductId: "prod_1" },
    }));
    await caughtUp(projector, store);
    assert.deepEqual(
      seen.map((p) => [p.name, p.version, p.priceTiers.length, p.stripeProductId]),
      [["Gold", 0, 0, null], ["Gilt", 1, 0, null], ["Gilt", 1, 1, null], ["Gilt", 2, 1, "prod_1"]],
    );
    stop();
    await w.createPlan("p2");
    await caughtUp(projector, store);
    assert.equal(seen.length, 4);
  } finally {
    await projector.stop();
  }
});
