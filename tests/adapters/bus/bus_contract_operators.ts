// The Bus contract, continued: message sizes, reading topics whole (BusBrowser, for
// `deno task dead-letters`), and dead letters sent back for one group. Run against each
// adapter by kafka_test.ts and sqlite_test.ts.
import assert from "node:assert/strict";
import { MAX_MESSAGE_BYTES, RETRY_HEADERS } from "../../../application/ports/bus.ts";
import { type BusHarness, collect, contractTest, eventually, unique } from "./bus_helpers.ts";

export const busOperatorsContract = (
  name: string,
  setup: () => Promise<BusHarness>,
  ignore: boolean,
): void => {
  const test = contractTest(name, setup, ignore);

  test(
    "publish() takes a batch of several MiB in one call, and every message arrives in order",
    async (_, bus) => {
      const topic = unique("big-batch");
      const body = "x".repeat(40 * 1024);
      const count = 160; // 6.4 MiB: over the broker's 1 MiB a request, several times
      await bus.publish(
        Array.from(
          { length: count },
          (_, i) => ({ topic, key: `k${i % 4}`, value: `${i}:${body}` }),
        ),
      );
      const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, count);
      for (const key of ["k0", "k1", "k2", "k3"]) {
        const order = seen.messages.filter((m) => m.key === key).map((m) =>
          Number(m.value.split(":")[0])
        );
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `order of ${key}`);
        assert.equal(order.length, count / 4);
      }
      await seen.consumer.stop();
    },
  );

  test(
    "publish() refuses a message over the bus's limit, with its size, and publishes none of the batch",
    async (_, bus) => {
      const topic = unique("too-large");
      await assert.rejects(
        bus.publish([
          { topic, key: "k", value: "kept out" },
          { topic, key: "k", value: "x".repeat(MAX_MESSAGE_BYTES) },
        ]),
        /message 2 of 2 .*\d+ bytes is over the bus's limit of \d+ bytes/,
      );
      await bus.publish([{ topic, key: "k", value: "marker" }]);
      const seen = await collect(bus, { groupId: unique("g"), topics: [topic] }, 1);
      assert.deepEqual(seen.messages.map((m) => m.value), ["marker"]);
      await seen.consumer.stop();
    },
  );

  test("read() returns every message a topic keeps, and topics() names it", async (_, bus) => {
    const topic = unique("browse");
    await bus.publish([1, 2, 3, 4, 5].map((n) => ({
      topic,
      key: "k",
      value: String(n),
      headers: { "x-n": String(n) },
    })));
    const read = await bus.read(topic);
    assert.deepEqual(read.map((m) => m.value), ["1", "2", "3", "4", "5"]);
    assert.deepEqual(read.map((m) => m.headers["x-n"]), ["1", "2", "3", "4", "5"]);
    assert.ok(read.every((m) => m.topic === topic && m.key === "k"));
    assert.ok((await bus.topics()).includes(topic));
    assert.deepEqual(await bus.read(unique("absent")), []);
  });

  test("a message sent back for one group is handled by that group only", async (_, bus) => {
    const topic = unique("retried");
    const mine = unique("g-mine");
    const other = unique("g-other");
    await bus.publish([
      { topic, key: "k", value: "retried", headers: { [RETRY_HEADERS.group]: mine } },
      { topic, key: "k", value: "marker" },
    ]);
    const first = await collect(bus, { groupId: mine, topics: [topic] }, 2);
    const second = await collect(bus, { groupId: other, topics: [topic] }, 1);
    await eventually(() => second.messages.some((m) => m.value === "marker"), "the marker");
    assert.deepEqual(first.messages.map((m) => m.value), ["retried", "marker"]);
    assert.deepEqual(second.messages.map((m) => m.value), ["marker"]);
    await first.consumer.stop();
    await second.consumer.stop();
  });
};
