// The Bus contract, continued: a consumer with several handlers at once (the `concurrency`
// option). Run against each adapter by kafka_test.ts and sqlite_test.ts.
import assert from "node:assert/strict";
import {
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  type IncomingMessage,
} from "../../../application/ports/bus.ts";
import {
  type BusHarness,
  collect,
  contractTest,
  deferred,
  eventually,
  spawnConsumer,
  unique,
} from "./bus_helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const busWindowContract = (
  name: string,
  setup: () => Promise<BusHarness>,
  ignore: boolean,
): void => {
  const test = contractTest(name, setup, ignore);

  test("a consumer runs up to `concurrency` handlers at once, no more", async (_, bus) => {
    const topic = unique("concurrency");
    await bus.publish(
      Array.from({ length: 12 }, (_, i) => ({ topic, key: `k${i}`, value: `${i}` })),
    );
    const release = deferred<void>();
    let running = 0;
    let most = 0;
    const seen = await collect(bus, {
      groupId: unique("g"),
      topics: [topic],
      concurrency: 4,
      handler: async () => {
        most = Math.max(most, ++running);
        await release.promise;
        running--;
      },
    }, 0);
    try {
      await eventually(() => running >= 4, "four handlers running");
      await sleep(300); // a fifth would have started by now
      assert.equal(most, 4);
    } finally {
      release.resolve();
    }
    await eventually(() => seen.messages.length === 12, "every message");
    assert.equal(most, 4);
    await seen.consumer.stop();
  });

  test("never two handlers of one key at once, and each key in order", async (_, bus) => {
    const topic = unique("keys");
    const keys = ["a", "b", "c"];
    await bus.publish(
      Array.from({ length: 60 }, (_, i) => ({ topic, key: keys[i % 3]!, value: String(i) })),
    );
    const busy = new Set<string>();
    const overlaps: string[] = [];
    const seen = await collect(bus, {
      groupId: unique("g"),
      topics: [topic],
      concurrency: 8,
      handler: async ({ key }) => {
        if (busy.has(key)) overlaps.push(key);
        busy.add(key);
        await sleep(Math.random() * 4);
        busy.delete(key);
      },
    }, 60);
    assert.deepEqual(overlaps, []);
    for (const key of keys) {
      const order = seen.messages.filter((m) => m.key === key).map((m) => Number(m.value));
      assert.deepEqual(order, [...order].sort((x, y) => x - y), `order of key ${key}`);
      assert.equal(order.length, 20);
    }
    await seen.consumer.stop();
  });

  test(
    "a crash redelivers the unfinished message and what follows it in its partition, and at most the window handled before",
    async (h, bus) => {
      const topic = unique("window-crash");
      const groupId = unique("g");
      const concurrency = 2;
      await bus.publish([
        { topic, key: "stuck", value: "stuck" },
        ...Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}` })),
      ]);
      const child = spawnConsumer(h.backend, groupId, topic, "hang", "stuck", concurrency);
      await child.waitFor((line) => line.event === "handling" && line.value === "stuck");
      await sleep(1500); // the other handlers finish and the window fills up behind "stuck"
      const { lines } = await child.kill("SIGKILL");
      const handled = lines.filter((line) => line.event === "handled");
      const stuck = lines.find((line) => line.value === "stuck")!;
      const after = await collect(bus, { groupId, topics: [topic] }, 0);
      await eventually(() => after.messages.some((m) => m.value === "stuck"), "the stuck one");
      await sleep(1000);
      const again = new Set(after.messages.map((m) => m.value));
      // Everything after "stuck" in its partition comes again, finished or not…
      for (const line of handled) {
        if (line.partition === stuck.partition && BigInt(line.offset!) > BigInt(stuck.offset!)) {
          assert.ok(again.has(line.value!), `${line.value} after "stuck" came again`);
        }
      }
      // …and no more of what was handled than the window holds (4 × concurrency).
      const twice = handled.filter((line) => again.has(line.value!));
      assert.ok(twice.length <= 4 * concurrency, `handled twice: ${twice.length}`);
      assert.ok(handled.length > 0, "other keys were handled while stuck ran");
      await after.consumer.stop();
    },
  );

  test("stop() lets every handler running finish, and commits them", async (h, bus) => {
    const topic = unique("window-stop");
    const groupId = unique("g");
    await bus.publish(
      Array.from({ length: 3 }, (_, i) => ({ topic, key: `k${i}`, value: `${i}` })),
    );
    const release = deferred<void>();
    let running = 0;
    const handled: string[] = [];
    const consumer = await bus.consume({
      groupId,
      topics: [topic],
      concurrency: 3,
      handler: async ({ value }) => {
        running++;
        await release.promise;
        handled.push(value);
      },
    });
    let stopped: Promise<void> | undefined;
    try {
      await eventually(() => running === 3, "three handlers running");
      stopped = consumer.stop();
      await sleep(100);
    } finally {
      release.resolve();
      await (stopped ?? consumer.stop());
    }
    assert.deepEqual(handled.sort(), ["0", "1", "2"]);
    await bus.publish([{ topic, key: "k", value: "marker" }]);
    const restarted = h.open();
    try {
      const after = await collect(restarted, { groupId, topics: [topic] }, 1);
      await sleep(300);
      assert.deepEqual(after.messages.map((m) => m.value), ["marker"]);
      await after.consumer.stop();
    } finally {
      await restarted.close();
    }
  });

  test("pause() lets the handlers running finish and starts no other", async (_, bus) => {
    const topic = unique("window-pause");
    await bus.publish(
      Array.from({ length: 6 }, (_, i) => ({ topic, key: `k${i}`, value: `${i}` })),
    );
    const release = deferred<void>();
    let started = 0;
    const seen = await collect(bus, {
      groupId: unique("g"),
      topics: [topic],
      concurrency: 2,
      handler: async () => {
        started++;
        await release.promise;
      },
    }, 0);
    try {
      await eventually(() => started === 2, "two handlers running");
      seen.consumer.pause();
    } finally {
      release.resolve();
    }
    await eventually(() => seen.messages.length === 2, "the two running to finish");
    await sleep(1000);
    assert.equal(started, 2, "nothing started while paused");
    seen.consumer.resume();
    await eventually(() => seen.messages.length === 6, "the rest after resume()");
    await seen.consumer.stop();
  });

  test(
    "a message dead-lettered among others running is told to onDeadLetter first, and the rest go on",
    async (_, bus) => {
      const topic = unique("window-dead");
      await bus.publish(
        Array.from(
          { length: 8 },
          (_, i) => ({ topic, key: `k${i}`, value: i === 3 ? "bad" : `${i}` }),
        ),
      );
      const told: { value: string; error: string; attempts: number }[] = [];
      let refusals = 1; // onDeadLetter fails once: it is tried again
      const seen = await collect(bus, {
        groupId: unique("g"),
        topics: [topic],
        concurrency: 4,
        maxAttempts: 2,
        initialBackoffMs: 5,
        handler: (message) => {
          if (message.value === "bad") throw new Error("cannot apply");
        },
        onDeadLetter: (message: IncomingMessage, reason) => {
          if (refusals-- > 0) return Promise.reject(new Error("store away"));
          told.push({ value: message.value, error: reason.error, attempts: reason.attempts });
          return Promise.resolve();
        },
      }, 7);
      const dead = await collect(
        bus,
        { groupId: unique("dlq"), topics: [deadLetterTopic(topic)] },
        1,
      );
      assert.deepEqual(told, [{ value: "bad", error: "Error: cannot apply", attempts: 2 }]);
      assert.equal(dead.messages[0]!.value, "bad");
      assert.equal(dead.messages[0]!.headers[DEAD_LETTER_HEADERS.attempts], "2");
      assert.ok(!Number.isNaN(Date.parse(dead.messages[0]!.headers[DEAD_LETTER_HEADERS.at]!)));
      await seen.consumer.stop();
      await dead.consumer.stop();
    },
  );

  test("consume() refuses a concurrency it cannot honour", async (_, bus) => {
    const handler = () => Promise.resolve();
    for (const concurrency of [0, 1.5, -1]) {
      await assert.rejects(
        bus.consume({ groupId: "g", topics: ["t"], handler, concurrency }),
        /concurrency must be a whole number from 1/,
      );
    }
  });
};
