// The outbox against a real Kafka broker (KAFKA_BROKERS): a publisher that crashes after
// a publish, one stopped mid-stream, and a third that finishes; every event still
// arrives at least once, and in order for each plan.
import assert from "node:assert/strict";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import type { Bus, IncomingMessage } from "../../../application/ports/bus.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { parseMessage, TOPICS } from "../../../application/shared/integration_events.ts";
import { startOutbox } from "../../../application/outbox/outbox.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";
import { eventually } from "../../adapters/bus/bus_helpers.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");
if (!brokers) {
  console.log(
    "outbox_kafka_test.ts: skipped, KAFKA_BROKERS is not set (no Kafka broker to publish to; deno task kafka start)",
  );
}

const PLANS = 12;
const UPDATES = 15;

const write = async (store: EventStore, run: string) => {
  const at = new Date().toISOString();
  const metadata = {
    correlationId: run,
    causationId: run,
    cause: { kind: "system", reason: "outbox test" },
  } as const;
  const planIds = Array.from({ length: PLANS }, (_, i) => `${run}-plan-${i}`);
  for (let round = 0; round <= UPDATES; round++) {
    for (const planId of planIds) {
      const command = round === 0
        ? {
          type: "CreatePlan" as const,
          data: { planId, at, name: "Plan", description: null, iconUrl: null },
        }
        : { type: "UpdatePlan" as const, data: { planId, at, name: `Plan v${round}` } };
      await handleCommand(store, planDecider, planStream(planId), command, {
        metadata,
        newEventId: () => crypto.randomUUID(),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 5)); // let the publisher interleave
  }
};

/** Counts publishes; throws after the `crashAt`-th one, once it reached the broker. */
const counting = (bus: Bus, crashAt = Infinity) => {
  let publishes = 0;
  const wrapped: Bus = {
    ...bus,
    publish: async (messages) => {
      await bus.publish(messages);
      if (++publishes === crashAt) throw new Error("crashed between publish and checkpoint");
    },
  };
  return { bus: wrapped, publishes: () => publishes };
};

Deno.test({
  name: "a restarted outbox delivers every event at least once, in order per aggregate",
  ignore: !brokers,
  fn: async () => {
    const run = `outbox-${crypto.randomUUID().slice(0, 8)}`;
    const store = memoryEventStore();
    const bus = kafkaBus({ brokers: brokers!.split(",") });
    const received: IncomingMessage[] = [];
    const consumer = await bus.consume({
      groupId: `${run}-check`,
      topics: [TOPICS.plans],
      handler: (message) => {
        if (message.key.startsWith(run)) received.push(message);
        return Promise.resolve();
      },
    });
    try {
      const writing = write(store, run);
      const options = { store, subscriberId: run, pageSize: 10 };

      const first = counting(bus, 3);
      await assert.rejects(
        startOutbox({ ...options, bus: first.bus, signal: new AbortController().signal }).done,
        /crashed between publish and checkpoint/,
      );

      const second = counting(bus);
      const stopSecond = new AbortController();
      const secondRun = startOutbox({ ...options, bus: second.bus, signal: stopSecond.signal });
      await eventually(() => second.publishes() >= 3, "the second publisher to get going");
      stopSecond.abort();
      await secondRun.done;

      await writing;
      const all = await store.readAll({ limit: 1_000_000 });
      const last = all.at(-1)!.position;
      const stopThird = new AbortController();
      await startOutbox({
        ...options,
        bus,
        signal: stopThird.signal,
        onCaughtUp: (position) => position >= last && stopThird.abort(),
      }).done;

      const expected = new Set(all.map((e) => e.metadata.eventId));
      const seen = () => new Set(received.map((m) => parseMessage(m).eventId));
      await eventually(() => seen().size === expected.size, `all ${expected.size} events`);
      assert.deepEqual(seen(), expected);
      assert.ok(received.length > expected.size, "the crashed page was published again");

      // Per plan, a message never jumps ahead: each is at most one past the furthest seen
      // (redeliveries replay a stretch already seen).
      const revision = new Map(all.map((e) => [e.metadata.eventId, e.revision]));
      const furthest = new Map<string, number>();
      for (const message of received) {
        const r = revision.get(parseMessage(message).eventId)!;
        const before = furthest.get(message.key) ?? -1;
        assert.ok(r <= before + 1, `${message.key}: revision ${r} came after ${before}`);
        furthest.set(message.key, Math.max(before, r));
      }
      assert.equal(furthest.size, PLANS);
    } finally {
      await consumer.stop();
      await bus.close();
    }
  },
});
