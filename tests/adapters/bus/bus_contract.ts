// The Bus contract: what every adapter promises, run against each of them
// (kafka_test.ts, sqlite_test.ts). Each test uses topics and groups of its own.
import assert from "node:assert/strict";
import {
  type Consumer,
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  type IncomingMessage,
  PermanentFailure,
} from "../../../application/ports/bus.ts";
import { parseMessage, PlanDeletedEvent } from "../../../application/shared/integration_events.ts";
import {
  type BusHarness,
  collect,
  contractTest,
  deferred,
  eventually,
  spawnConsumer,
  unique,
} from "./bus_helpers.ts";

export type { BusHarness } from "./bus_helpers.ts";

export const busContract = (
  name: string,
  setup: () => Promise<BusHarness>,
  ignore: boolean,
): void => {
  const test = contractTest(name, setup, ignore);
  const values = (messages: readonly IncomingMessage[]) => messages.map((m) => m.value);

  test("consume() delivers what publish() sent, with key, value and headers", async (_, bus) => {
    const topic = unique("deliver");
    await bus.publish([{ topic, key: "k1", value: "v1", headers: { "x-event-id": "e1" } }]);
    const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, 1);
    assert.equal(seen.messages[0]!.topic, topic);
    assert.equal(seen.messages[0]!.key, "k1");
    assert.equal(seen.messages[0]!.value, "v1");
    assert.equal(seen.messages[0]!.headers["x-event-id"], "e1");
    await seen.consumer.stop();
  });

  test(
    "a consumer that starts before its topic exists gets what is published later",
    async (_, bus) => {
      const topic = unique("later");
      const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, 0);
      await bus.publish([{ topic, key: "k", value: "first" }]);
      await eventually(() => seen.messages.length === 1, "the message published later");
      assert.deepEqual(values(seen.messages), ["first"]);
      await seen.consumer.stop();
    },
  );

  test("consume() keeps the order of the messages of each key", async (_, bus) => {
    const topic = unique("order");
    const keys = ["a", "b", "c", "d"];
    for (let batch = 0; batch < 5; batch++) {
      await bus.publish(
        Array.from({ length: 40 }, (_, i) => {
          const n = batch * 10 + Math.floor(i / keys.length);
          return { topic, key: keys[i % keys.length]!, value: String(n) };
        }),
      );
    }
    const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, 200);
    for (const key of keys) {
      const order = seen.messages.filter((m) => m.key === key).map((m) => Number(m.value));
      assert.deepEqual(order, Array.from({ length: 50 }, (_, n) => n), `order of key ${key}`);
    }
    await seen.consumer.stop();
  });

  test("every consumer group gets every message", async (_, bus) => {
    const topic = unique("groups");
    await bus.publish([1, 2, 3].map((n) => ({ topic, key: `k${n}`, value: String(n) })));
    const first = await collect(bus, { groupId: unique("g1"), topics: [topic] }, 3);
    const second = await collect(bus, { groupId: unique("g2"), topics: [topic] }, 3);
    assert.deepEqual(values(first.messages).sort(), ["1", "2", "3"]);
    assert.deepEqual(values(second.messages).sort(), ["1", "2", "3"]);
    await first.consumer.stop();
    await second.consumer.stop();
  });

  test("when a consumer of a group stops, another of the group takes over", async (_, bus) => {
    const topic = unique("takeover");
    const groupId = unique("g");
    const keys = ["a", "b", "c", "d", "e", "f"];
    await bus.publish(keys.map((key) => ({ topic, key, value: `${key}1` })));
    const first = await collect(bus, { groupId, topics: [topic] }, 0);
    const second = await collect(bus, { groupId, topics: [topic] }, 0);
    const both = () => [...first.messages, ...second.messages];
    await eventually(() => both().length >= keys.length, "the first messages");
    await first.consumer.stop();
    await bus.publish(keys.map((key) => ({ topic, key, value: `${key}2` })));
    await eventually(
      () => keys.every((key) => second.messages.some((m) => m.value === `${key}2`)),
      "the second consumer to take every key",
    );
    assert.deepEqual(
      [...new Set(values(both()))].sort(),
      [...keys.map((k) => `${k}1`), ...keys.map((k) => `${k}2`)].sort(),
    );
    await second.consumer.stop();
  });

  test("a restarted consumer resumes after the last message it committed", async (h, bus) => {
    const topic = unique("resume");
    const groupId = unique("g");
    const publish = (from: number) =>
      bus.publish([0, 1, 2, 3, 4].map((i) => ({ topic, key: "k", value: String(from + i) })));
    await publish(1);
    const before = await collect(bus, { groupId, topics: [topic] }, 5);
    await before.consumer.stop();
    await publish(6);
    const restarted = h.open();
    try {
      const after = await collect(restarted, { groupId, topics: [topic] }, 5);
      assert.deepEqual(values(after.messages), ["6", "7", "8", "9", "10"]);
      await after.consumer.stop();
    } finally {
      await restarted.close();
    }
  });

  test("stop() lets the message in hand finish and commits it", async (h, bus) => {
    const topic = unique("stop-finish");
    const groupId = unique("g");
    await bus.publish(["1", "2", "3"].map((value) => ({ topic, key: "k", value })));
    const inHand = deferred<void>();
    const release = deferred<void>();
    const handled: string[] = [];
    const consumer = await bus.consume({
      groupId,
      topics: [topic],
      handler: async ({ value }) => {
        if (value === "2") {
          inHand.resolve();
          await release.promise;
        }
        handled.push(value);
      },
    });
    await inHand.promise;
    const stopped = consumer.stop();
    release.resolve();
    await stopped;
    assert.deepEqual(handled, ["1", "2"]);
    const restarted = h.open();
    try {
      const after = await collect(restarted, { groupId, topics: [topic] }, 1);
      assert.deepEqual(values(after.messages), ["3"]);
      await after.consumer.stop();
    } finally {
      await restarted.close();
    }
  });

  test("a message whose handler fails while stopping is delivered again", async (h, bus) => {
    const topic = unique("stop-fail");
    const groupId = unique("g");
    await bus.publish(["1", "2", "3"].map((value) => ({ topic, key: "k", value })));
    const inHand = deferred<void>();
    const release = deferred<void>();
    const consumer = await bus.consume({
      groupId,
      topics: [topic],
      handler: async ({ value }) => {
        if (value !== "2") return;
        inHand.resolve();
        await release.promise;
        throw new Error("interrupted");
      },
    });
    await inHand.promise;
    const stopped = consumer.stop();
    release.resolve();
    await stopped;
    const restarted = h.open();
    try {
      const after = await collect(restarted, { groupId, topics: [topic] }, 2);
      assert.deepEqual(values(after.messages), ["2", "3"]);
      await after.consumer.stop();
    } finally {
      await restarted.close();
    }
  });

  test("a failing handler is tried again until it succeeds", async (_, bus) => {
    const topic = unique("retry");
    await bus.publish([{ topic, key: "k", value: "flaky" }, { topic, key: "k", value: "next" }]);
    let calls = 0;
    const seen = await collect(bus, {
      groupId: unique("g"),
      topics: [topic],
      initialBackoffMs: 5,
      handler: (message) => {
        if (message.value === "flaky" && ++calls < 3) throw new Error("not yet");
      },
    }, 2);
    assert.equal(calls, 3);
    assert.deepEqual(values(seen.messages), ["flaky", "next"]);
    await seen.consumer.stop();
  });

  test(
    "a message that keeps failing goes to the dead-letter topic with its origin, and the next one is processed",
    async (_, bus) => {
      const topic = unique("dead");
      const groupId = unique("g");
      await bus.publish([
        { topic, key: "k", value: "poison", headers: { "x-event-id": "e-poison" } },
        { topic, key: "k", value: "fine" },
      ]);
      let attempts = 0;
      let poisonOffset = "";
      const seen = await collect(bus, {
        groupId,
        topics: [topic],
        maxAttempts: 3,
        initialBackoffMs: 5,
        handler: (message) => {
          if (message.value !== "poison") return;
          attempts++;
          poisonOffset = message.offset;
          throw new Error("Stripe said no");
        },
      }, 1);
      assert.deepEqual(values(seen.messages), ["fine"]);
      assert.equal(attempts, 3);
      const dead = await collect(
        bus,
        { groupId: unique("dlq"), topics: [deadLetterTopic(topic)] },
        1,
      );
      const [letter] = dead.messages;
      assert.equal(letter!.key, "k");
      assert.equal(letter!.value, "poison");
      assert.equal(letter!.headers["x-event-id"], "e-poison");
      assert.match(letter!.headers[DEAD_LETTER_HEADERS.error]!, /Stripe said no/);
      assert.equal(letter!.headers[DEAD_LETTER_HEADERS.topic], topic);
      assert.match(letter!.headers[DEAD_LETTER_HEADERS.partition]!, /^\d+$/);
      assert.equal(letter!.headers[DEAD_LETTER_HEADERS.offset], poisonOffset);
      assert.equal(letter!.headers[DEAD_LETTER_HEADERS.attempts], "3");
      assert.equal(letter!.headers[DEAD_LETTER_HEADERS.group], groupId);
      await seen.consumer.stop();
      await dead.consumer.stop();
    },
  );

  test("a PermanentFailure is dead-lettered at once, with its details", async (_, bus) => {
    const topic = unique("permanent");
    await bus.publish([{ topic, key: "k", value: "bad" }, { topic, key: "k", value: "good" }]);
    let calls = 0;
    const seen = await collect(bus, {
      groupId: unique("g"),
      topics: [topic],
      handler: (message) => {
        if (message.value !== "bad") return;
        calls++;
        throw new PermanentFailure("unknown plan", { planId: "p-1" });
      },
    }, 1);
    assert.equal(calls, 1);
    const dead = await collect(
      bus,
      { groupId: unique("dlq"), topics: [deadLetterTopic(topic)] },
      1,
    );
    const headers = dead.messages[0]!.headers;
    assert.equal(headers[DEAD_LETTER_HEADERS.attempts], "1");
    assert.match(headers[DEAD_LETTER_HEADERS.error]!, /unknown plan/);
    assert.deepEqual(JSON.parse(headers[DEAD_LETTER_HEADERS.details]!), { planId: "p-1" });
    await seen.consumer.stop();
    await dead.consumer.stop();
  });

  test(
    "a message that fails its schema is dead-lettered with the zod issues and the consumer goes on",
    async (_, bus) => {
      const topic = unique("schema");
      const valid = {
        type: "PlanDeletedEvent",
        version: 1,
        eventId: "e-2",
        occurredAt: "2026-01-02T03:04:05.000Z",
        data: { planId: "p-1" },
      };
      await bus.publish([
        { topic, key: "p-1", value: JSON.stringify({ ...valid, eventId: "e-1", data: {} }) },
        { topic, key: "p-1", value: "{not json" },
        { topic, key: "p-1", value: JSON.stringify(valid) },
      ]);
      const parsed: string[] = [];
      const seen = await collect(bus, {
        groupId: unique("g"),
        topics: [topic],
        handler: (message) => void parsed.push(parseMessage(message, PlanDeletedEvent).eventId),
      }, 1);
      assert.deepEqual(parsed, ["e-2"]);
      const dead = await collect(
        bus,
        { groupId: unique("dlq"), topics: [deadLetterTopic(topic)] },
        2,
      );
      const [missing, notJson] = dead.messages.map((m) => m.headers);
      assert.match(missing![DEAD_LETTER_HEADERS.error]!, /planId/);
      const issues = JSON.parse(missing![DEAD_LETTER_HEADERS.details]!);
      assert.deepEqual(issues[0].path, ["data", "planId"]);
      assert.match(notJson![DEAD_LETTER_HEADERS.error]!, /is not JSON/);
      await seen.consumer.stop();
      await dead.consumer.stop();
    },
  );

  test("pause() holds back new messages until resume()", async (_, bus) => {
    const topic = unique("pause");
    await bus.publish([{ topic, key: "k", value: "1" }]);
    const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, 1);
    seen.consumer.pause();
    await bus.publish([{ topic, key: "k", value: "2" }]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(values(seen.messages), ["1"], "nothing is delivered while paused");
    seen.consumer.resume();
    await eventually(() => seen.messages.length === 2, "the message held back while paused");
    assert.deepEqual(values(seen.messages), ["1", "2"]);
    await seen.consumer.stop();
  });

  test("a failure while paused does not count as an attempt", async (_, bus) => {
    const topic = unique("pause-fail");
    await bus.publish([{ topic, key: "k", value: "1" }, { topic, key: "k", value: "2" }]);
    let calls = 0;
    const failed = deferred<void>();
    const started = deferred<Consumer>();
    const seen = await collect(bus, {
      groupId: unique("g"),
      topics: [topic],
      maxAttempts: 1,
      handler: async (message) => {
        if (message.value !== "1" || ++calls > 1) return;
        (await started.promise).pause(); // as when Stripe's breaker opens under the handler
        failed.resolve();
        throw new Error("breaker open");
      },
    }, 0);
    started.resolve(seen.consumer);
    await failed.promise;
    await new Promise((resolve) => setTimeout(resolve, 300)); // the breaker stays open a while
    seen.consumer.resume();
    await eventually(() => seen.messages.length === 2, "both messages after resume()");
    assert.equal(calls, 2);
    assert.deepEqual(values(seen.messages), ["1", "2"]);
    await seen.consumer.stop();
  });

  test("a consumer that crashes mid-message leaves it to the next consumer", async (h, bus) => {
    const topic = unique("crash");
    const groupId = unique("g");
    await bus.publish(["1", "2", "3"].map((value) => ({ topic, key: "k", value })));
    const child = spawnConsumer(h.backend, groupId, topic, "hang", "2");
    await child.waitFor((line) => line.event === "handling" && line.value === "2");
    await child.kill("SIGKILL");
    const after = await collect(bus, { groupId, topics: [topic] }, 2);
    await new Promise((resolve) => setTimeout(resolve, 200)); // anything more would show now
    // "1" may come again: its commit is written together with others, a moment after it
    // finished; what was in hand and after it always does, in order.
    const redelivered = values(after.messages);
    assert.deepEqual(redelivered.filter((value) => value !== "1"), ["2", "3"]);
    assert.ok(redelivered.length <= 3, `redelivered ${redelivered}`);
    await after.consumer.stop();
  });

  test("SIGTERM lets the message in hand finish, commits it and exits", async (h, bus) => {
    const topic = unique("sigterm");
    const groupId = unique("g");
    await bus.publish(["1", "2", "3"].map((value) => ({ topic, key: "k", value })));
    const child = spawnConsumer(h.backend, groupId, topic, "slow", "2");
    await child.waitFor((line) => line.event === "handling" && line.value === "2");
    const { code, lines } = await child.kill("SIGTERM");
    assert.equal(code, 0);
    const events = lines.map((line) => `${line.event} ${line.value ?? ""}`.trim());
    assert.deepEqual(events.slice(-2), ["handled 2", "stopped"]);
    assert.ok(!events.includes("handling 3"), "no new message once the signal came");
    const after = await collect(bus, { groupId, topics: [topic] }, 1);
    assert.deepEqual(values(after.messages), ["3"]);
    await after.consumer.stop();
  });

  test("publish() refuses a batch with a bad message and publishes none of it", async (_, bus) => {
    const topic = unique("refuse");
    await assert.rejects(
      bus.publish([{ topic, key: "k", value: "kept out" }, { topic, key: "", value: "x" }]),
      /message 2 of 2 .*key must be a non-empty string/,
    );
    await assert.rejects(
      bus.publish([{ topic: "no spaces", key: "k", value: "x" }]),
      /topic must be/,
    );
    await bus.publish([{ topic, key: "k", value: "marker" }]);
    const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, 1);
    assert.deepEqual(values(seen.messages), ["marker"]);
    await seen.consumer.stop();
  });

  test("consume() refuses options it cannot honour", async (_, bus) => {
    const handler = () => Promise.resolve();
    await assert.rejects(
      bus.consume({ groupId: "g", topics: ["t"], handler, maxAttempts: 0 }),
      /maxAttempts must be a whole number from 1/,
    );
    await assert.rejects(bus.consume({ groupId: "", topics: ["t"], handler }), /groupId/);
    await assert.rejects(bus.consume({ groupId: "g", topics: [], handler }), /topics/);
  });
};
