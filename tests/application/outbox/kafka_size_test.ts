// The outbox against a real Kafka broker (KAFKA_BROKERS) with a backlog of several MiB:
// published in requests under the broker's limit (1 MiB a record batch), and an event too
// large for any message, recorded before such events were refused, dead-lettered as a note
// instead of stopping the outbox. The bus is wrapped to put this run's messages on topics
// of its own.
import assert from "node:assert/strict";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import {
  type Bus,
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  type IncomingMessage,
} from "../../../application/ports/bus.ts";
import { TOPICS } from "../../../application/shared/integration_events.ts";
import { stripeEventStream } from "../../../application/shared/stripe_events.ts";
import { recordStripeWebhook } from "../../../application/inbound/webhook_record.ts";
import { startOutbox } from "../../../application/outbox/outbox.ts";
import { eventually } from "../../adapters/bus/bus_helpers.ts";
import { product, stripeEvent } from "../../support/webhook_fixtures.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");
if (!brokers) console.log("kafka_size_test.ts: skipped, KAFKA_BROKERS is not set");

/** `bus` with every topic prefixed by `run`. */
const ownTopics = (bus: Bus, run: string): Bus => ({
  ...bus,
  publish: (messages) => bus.publish(messages.map((m) => ({ ...m, topic: `${run}.${m.topic}` }))),
});

Deno.test({
  name:
    "the outbox publishes a backlog of several MiB to Kafka, and dead-letters an event too large for the bus instead of stopping",
  ignore: !brokers,
  fn: async () => {
    const run = `size-${crypto.randomUUID().slice(0, 8)}`;
    const store = memoryEventStore();
    const description = "d".repeat(40 * 1024);
    const COUNT = 160; // about 6.5 MiB in all
    for (let i = 0; i < COUNT; i++) {
      const event = stripeEvent(
        "product.created",
        product({ id: `prod_${run}_${i}`, description }),
        { id: `evt_${run}_${i}` },
      );
      assert.equal(await recordStripeWebhook(store, event), "recorded");
      if (i === COUNT / 2) {
        // Recorded before appends were checked: over any message the bus takes.
        const huge = stripeEvent(
          "product.created",
          product({ id: `prod_${run}_huge`, description: "h".repeat(1024 * 1024) }),
          { id: `evt_${run}_huge` },
        );
        await store.append(stripeEventStream(`evt_${run}_huge`), [{
          type: "StripeWebhookReceived",
          data: {
            stripeEventId: `evt_${run}_huge`,
            stripeEventType: "product.created",
            created: 1,
            objectId: `prod_${run}_huge`,
            event: huge,
          },
          metadata: {
            eventId: crypto.randomUUID(),
            correlationId: run,
            causationId: run,
            cause: { kind: "system", reason: "test" },
          },
        }], "noStream");
      }
    }
    const last = (await store.readAll({ limit: 10_000 })).at(-1)!.position;

    const bus = kafkaBus({ brokers: brokers!.split(",") });
    const received: IncomingMessage[] = [];
    const letters: IncomingMessage[] = [];
    const topic = `${run}.${TOPICS.stripeEvents}`;
    const consumers = [
      await bus.consume({
        groupId: `${run}-check`,
        topics: [topic],
        handler: (m) => Promise.resolve(void received.push(m)),
      }),
      await bus.consume({
        groupId: `${run}-dlq`,
        topics: [deadLetterTopic(topic)],
        handler: (m) => Promise.resolve(void letters.push(m)),
      }),
    ];
    try {
      const stop = new AbortController();
      await startOutbox({
        store,
        bus: ownTopics(bus, run),
        signal: stop.signal,
        subscriberId: run,
        onCaughtUp: (position) => position >= last && stop.abort(),
      }).done;
      await eventually(
        () => received.length >= COUNT && letters.length >= 1,
        "every event and the note",
      );
      assert.equal(new Set(received.map((m) => m.key)).size, COUNT);
      assert.equal(letters.length, 1);
      const [letter] = letters;
      assert.equal(letter!.key, `prod_${run}_huge`);
      assert.equal(letter!.headers[DEAD_LETTER_HEADERS.value], "omitted");
      assert.match(letter!.headers[DEAD_LETTER_HEADERS.error]!, /over the bus's limit/);
      assert.equal(JSON.parse(letter!.value).streamId, stripeEventStream(`evt_${run}_huge`));
    } finally {
      for (const consumer of consumers) await consumer.stop();
      await bus.close();
    }
  },
});
