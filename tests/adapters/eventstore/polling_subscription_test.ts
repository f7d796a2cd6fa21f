import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { pollingSubscription } from "../../../adapters/eventstore/polling_subscription.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { systemEvent } from "../../support/new_events.ts";

const event = (n: number) => systemEvent("Happened", { n }, "polling test");

Deno.test("pollingSubscription() stores its checkpoint at most every checkpointMs while live, and its last position when it ends", async () => {
  const store = memoryEventStore();
  const stored: number[] = [];
  const counting: EventStore = {
    ...store,
    storeCheckpoint: (id, position) => {
      stored.push(position);
      return store.storeCheckpoint(id, position);
    },
  };
  const woken = new Set<() => void>();
  const abort = new AbortController();
  let handled = 0;
  const subscription = pollingSubscription(
    counting,
    { subscriberId: "s", signal: abort.signal, handler: () => void handled++ },
    (wake) => {
      woken.add(wake);
      return () => woken.delete(wake);
    },
    10,
    1_000,
  );
  // Live: one event at a time, each read as a page of its own.
  for (let n = 1; n <= 50; n++) {
    await store.append(`s-${n}`, [event(n)], "noStream");
    woken.forEach((wake) => wake());
    while (handled < n) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(stored.length <= 1, `50 pages within a second stored ${stored.length} checkpoints`);
  abort.abort();
  await subscription.done;
  assert.equal(stored.at(-1), 50, "the last position is stored when the subscription ends");
  assert.equal(await store.readCheckpoint("s"), 50);
});
