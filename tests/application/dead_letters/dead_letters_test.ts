// Listing and sending back dead letters (application/dead_letters/) over the SQLite bus;
// tests/apps/dead_letters/main_test.ts runs the command on both buses.
import assert from "node:assert/strict";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import {
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  PermanentFailure,
  RETRY_HEADERS,
} from "../../../application/ports/bus.ts";
import {
  listDeadLetters,
  NoSuchDeadLetter,
  retryDeadLetters,
} from "../../../application/dead_letters/dead_letters.ts";
import { collect } from "../../adapters/bus/bus_helpers.ts";

const withBus = async (fn: (bus: ReturnType<typeof sqliteBus>) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-dead-letters-" });
  const bus = sqliteBus({ path: `${dir}/bus.sqlite`, pollMs: 20 });
  try {
    await fn(bus);
  } finally {
    await bus.close();
    await Deno.remove(dir, { recursive: true });
  }
};

/** Dead-letters "bad" (PermanentFailure) and "flaky" (2 attempts) of `topic` for group "g". */
const deadLetter = async (bus: ReturnType<typeof sqliteBus>, topic: string) => {
  await bus.publish([
    { topic, key: "k1", value: "bad", headers: { "x-event-id": "e1" } },
    { topic, key: "k2", value: "flaky" },
    { topic, key: "k3", value: "fine" },
  ]);
  const seen = await collect(bus, {
    groupId: "g",
    topics: [topic],
    maxAttempts: 2,
    initialBackoffMs: 1,
    handler: ({ value }) => {
      if (value === "bad") throw new PermanentFailure("no such plan", { planId: "p-1" });
      if (value === "flaky") throw new Error("Stripe is away");
    },
  }, 1);
  for (let tries = 0; (await bus.read(deadLetterTopic(topic))).length < 2; tries++) {
    if (tries > 500) throw new Error("the two letters never came");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await seen.consumer.stop();
};

Deno.test("listDeadLetters() shows each dead letter with its topic, key, reason, attempts, when and group", async () => {
  await withBus(async (bus) => {
    await deadLetter(bus, "orders");
    await bus.publish([{ topic: "other", key: "k", value: "not a letter" }]);
    const letters = await listDeadLetters(bus);
    assert.deepEqual(letters.map((l) => [l.id, l.topic, l.key, l.attempts, l.group, l.retriedAt]), [
      ["orders.dead-letter:0:0", "orders", "k1", 1, "g", null],
      ["orders.dead-letter:0:1", "orders", "k2", 2, "g", null],
    ]);
    assert.match(letters[0]!.reason, /PermanentFailure: no such plan/);
    assert.deepEqual(letters[0]!.details, { planId: "p-1" });
    assert.match(letters[1]!.reason, /Error: Stripe is away/);
    assert.ok(letters.every((l) => !Number.isNaN(Date.parse(l.deadLetteredAt!))));
    assert.deepEqual(await listDeadLetters(bus, { topic: "orders.dead-letter" }), letters);
    assert.deepEqual(await listDeadLetters(bus, { topic: "nothing-here" }), []);
  });
});

Deno.test("retryDeadLetters() sends each letter back once, for the group that gave up on it", async () => {
  await withBus(async (bus) => {
    await deadLetter(bus, "orders");
    const first = await retryDeadLetters(bus, {
      topic: "orders",
      now: () => "2026-05-01T00:00:00.000Z",
    });
    assert.deepEqual(first.sent.map((l) => l.key), ["k1", "k2"]);
    const again = await retryDeadLetters(bus, { topic: "orders" });
    assert.deepEqual(again.sent, []);
    assert.deepEqual(again.skipped.map(({ why }) => why), [
      "sent back already, at 2026-05-01T00:00:00.000Z",
      "sent back already, at 2026-05-01T00:00:00.000Z",
    ]);
    const back = (await bus.read("orders")).slice(3);
    assert.deepEqual(back.map((m) => [m.key, m.value]), [["k1", "bad"], ["k2", "flaky"]]);
    assert.equal(back[0]!.headers["x-event-id"], "e1", "the message's own headers go back with it");
    assert.equal(back[0]!.headers[RETRY_HEADERS.from], "orders.dead-letter:0:0");
    assert.equal(back[0]!.headers[RETRY_HEADERS.group], "g");
    assert.ok(!Object.keys(back[0]!.headers).some((h) => h.startsWith("x-dead-letter-")));
    const listed = await listDeadLetters(bus, { topic: "orders" });
    assert.deepEqual(listed.map((l) => l.retriedAt), [
      "2026-05-01T00:00:00.000Z",
      "2026-05-01T00:00:00.000Z",
    ]);
  });
});

Deno.test("retryDeadLetters() with an id sends that letter only, and refuses an id no topic keeps", async () => {
  await withBus(async (bus) => {
    await deadLetter(bus, "orders");
    const result = await retryDeadLetters(bus, { id: "orders.dead-letter:0:1" });
    assert.deepEqual(result.sent.map((l) => l.key), ["k2"]);
    assert.deepEqual(
      (await listDeadLetters(bus)).map((l) => l.retriedAt === null),
      [true, false],
    );
    await assert.rejects(retryDeadLetters(bus, { id: "orders.dead-letter:0:9" }), NoSuchDeadLetter);
  });
});

Deno.test("a note of a message too large for the bus is listed but never sent back", async () => {
  await withBus(async (bus) => {
    await bus.publish([{
      topic: deadLetterTopic("orders"),
      key: "k",
      value: JSON.stringify({ streamId: "s", position: 3 }),
      headers: {
        [DEAD_LETTER_HEADERS.topic]: "orders",
        [DEAD_LETTER_HEADERS.error]: "over the bus's limit",
        [DEAD_LETTER_HEADERS.value]: "omitted",
      },
    }]);
    const [note] = await listDeadLetters(bus);
    assert.equal(note!.retriable, false);
    const result = await retryDeadLetters(bus);
    assert.deepEqual(result.sent, []);
    assert.match(result.skipped[0]!.why, /too large/);
    assert.deepEqual(await bus.read("orders"), []);
  });
});
