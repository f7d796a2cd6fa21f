// A lease kept for weeks: its stream gains an event per renewal, and a renewal must cost
// the same on the last day as on the first. Time is a stepping clock, 20 s per renewal.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import type { DomainEvent } from "../../../domain/decider.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { type Labels, type Metrics, noMetrics } from "../../../application/ports/metrics.ts";
import { leaseCommands, TRUNCATE_EVERY } from "../../../application/lease/commands.ts";
import { leaseStream } from "../../../application/lease/lease.ts";
import { runWithLease } from "../../../application/lease/runner.ts";
import { steppingClock } from "../../support/clocks.ts";

const RENEW_EVERY_MS = 20_000;
const TTL = 60_000;
const DAY_MS = 86_400_000;

/** `store`, counting the events its readStream calls return. */
const counting = (store: EventStore) => {
  let read = 0;
  const wrapped: EventStore = {
    ...store,
    readStream: async <E extends DomainEvent>(streamId: string) => {
      const events = await store.readStream<E>(streamId);
      read += events.length;
      return events;
    },
  };
  return { store: wrapped, eventsRead: () => read };
};

Deno.test("a lease renewed every 20 s for 30 days reads no more events per renewal on day 30 than on day 1", async () => {
  const counted = counting(memoryEventStore());
  const clock = steppingClock("2026-03-01T00:00:00.000Z", RENEW_EVERY_MS);
  const lease = leaseCommands({ store: counted.store, name: "outbox", holder: "a" });
  const mostPerDay: number[] = [];
  for (let day = 1; day <= 30; day++) {
    let most = 0;
    for (let i = 0; i < DAY_MS / RENEW_EVERY_MS; i++) {
      const before = counted.eventsRead();
      const { events } = await lease.acquire(clock(), TTL);
      assert.equal(events[0]?.type, i === 0 && day === 1 ? "LeaseAcquired" : "LeaseRenewed");
      const read = counted.eventsRead() - before;
      // Checked at each renewal, so that a stream left to grow fails on day 1, not after hours.
      assert.ok(read <= TRUNCATE_EVERY, `day ${day}: a renewal read ${read} events`);
      most = Math.max(most, read);
    }
    mostPerDay.push(most);
  }
  assert.equal(
    mostPerDay[29],
    mostPerDay[0],
    `most events read per renewal, by day: ${mostPerDay}`,
  );
  const kept = await counted.store.readStream(leaseStream("outbox"));
  assert.equal(kept.at(-1)?.revision, 30 * DAY_MS / RENEW_EVERY_MS - 1, "every renewal is there");
  assert.ok(kept.length <= TRUNCATE_EVERY, `${kept.length} lease events kept`);
});

Deno.test("runWithLease() keeps the lease stream short while it renews, and times each renewal", async () => {
  const store = memoryEventStore();
  const stop = new AbortController();
  const renewals = TRUNCATE_EVERY * 3;
  let longest = 0;
  const observed: { seconds: number; labels?: Labels }[] = [];
  const metrics: Metrics = {
    ...noMetrics,
    histogram: (name) => ({
      observe: (seconds, labels) =>
        void (name === "lease_acquire_seconds" && observed.push({ seconds, labels })),
    }),
  };
  const runner = runWithLease({
    metrics,
    store,
    name: "outbox",
    holder: "a",
    clock: steppingClock("2026-03-01T00:00:00.000Z", RENEW_EVERY_MS),
    signal: stop.signal,
    ttlMs: TTL,
    renewEveryMs: 1,
    whileHeld: (signal) =>
      new Promise((resolve) => signal.addEventListener("abort", () => resolve())),
  });
  try {
    for (let revision = -1; revision < renewals;) {
      const events = await store.readStream(leaseStream("outbox"));
      longest = Math.max(longest, events.length);
      revision = events.at(-1)?.revision ?? -1;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    stop.abort();
    await runner.done;
  }
  assert.ok(longest <= TRUNCATE_EVERY, `the lease stream reached ${longest} events`);
  assert.deepEqual(observed[0]?.labels, { lease: "outbox", outcome: "taken" });
  const renewed = observed.filter((o) => o.labels?.outcome === "renewed");
  assert.ok(renewed.length >= renewals - 1, `${renewed.length} renewals timed`);
  assert.ok(renewed.every((o) => o.seconds >= 0 && o.seconds < 10));
});
