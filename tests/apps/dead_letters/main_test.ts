// `deno task dead-letters list|retry` as an operator runs it, on the SQLite bus under a
// DATA_DIR and on Kafka (KAFKA_BROKERS): a message a group gave up on is listed with its
// reason, sent back once, and handled again by that group.
import assert from "node:assert/strict";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import {
  type Bus,
  type BusBrowser,
  deadLetterTopic,
  PermanentFailure,
} from "../../../application/ports/bus.ts";
import { collect, eventually } from "../../adapters/bus/bus_helpers.ts";
import { runTask } from "../dev/dev_process.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");

/** Publishes "bad" and "good" on `topic`; group `groupId` dead-letters "bad" while `broken.now`. */
const deadLetterOne = async (
  bus: Bus & BusBrowser,
  topic: string,
  groupId: string,
  broken: { now: boolean },
) => {
  await bus.publish([
    { topic, key: "order-1", value: "bad", headers: { "x-event-id": "e-1" } },
    { topic, key: "order-2", value: "good" },
  ]);
  const seen = await collect(bus, {
    groupId,
    topics: [topic],
    handler: ({ value }) => {
      if (value === "bad" && broken.now) throw new PermanentFailure("order-1 has no plan");
    },
  }, 1);
  for (let i = 0; (await bus.read(deadLetterTopic(topic))).length === 0; i++) {
    if (i > 1500) throw new Error("no dead letter");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return seen;
};

const scenario = (
  name: string,
  env: () => Record<string, string>,
  open: () => Bus & BusBrowser,
  { ignore = false, cleanup = () => Promise.resolve() } = {},
) =>
  Deno.test({
    name:
      `dead-letters list and retry on ${name}: listed with the reason, sent back once, handled again by its group`,
    ignore,
    fn: async () => {
      const run = crypto.randomUUID().slice(0, 8);
      const topic = `dead-letters-test.${run}`;
      const groupId = `dead-letters-test-g.${run}`;
      const bus = open();
      try {
        const broken = { now: true };
        const seen = await deadLetterOne(bus, topic, groupId, broken);
        const task = (...args: string[]) => runTask("dead-letters", args, env());

        const listed = await task("list", "--topic", topic, "--json");
        assert.equal(listed.code, 0, listed.stderr);
        const [letter, ...more] = JSON.parse(listed.stdout);
        assert.deepEqual(more, []);
        assert.equal(letter.topic, topic);
        assert.equal(letter.key, "order-1");
        assert.match(letter.reason, /PermanentFailure: order-1 has no plan/);
        assert.equal(letter.attempts, 1);
        assert.equal(letter.group, groupId);
        assert.ok(!Number.isNaN(Date.parse(letter.deadLetteredAt)));
        assert.equal(letter.retriedAt, null);
        const text = await task("list", "--topic", topic);
        assert.match(text.stdout, /^1 dead letter\n/);
        assert.match(text.stdout, new RegExp(`reason +PermanentFailure: order-1 has no plan`));

        broken.now = false; // the cause is mended: the letter can go back
        const retried = await task("retry", "--topic", topic);
        assert.equal(retried.code, 0, retried.stderr);
        assert.match(retried.stdout, new RegExp(`sent back ${letter.id} to ${topic}`));
        const again = await task("retry", "--topic", topic, "--id", letter.id);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /not sent .*: sent back already, at /);
        assert.match(again.stdout, /0 sent back, 1 not sent/);

        // The group that gave up gets it once more; it was sent back once.
        await eventually(() => seen.messages.some((m) => m.value === "bad"), "the letter handled");
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal(seen.messages.filter((m) => m.value === "bad").length, 1);
        assert.match(
          (await task("list", "--topic", topic)).stdout,
          /retried +\d{4}-\d{2}-\d{2}T/,
        );
        await seen.consumer.stop();

        const unknown = await task("retry", "--id", `${deadLetterTopic(topic)}:0:999`);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /no dead letter/);
      } finally {
        await bus.close();
        await cleanup();
      }
    },
  });

let dataDir = "";
scenario("the SQLite bus", () => ({ DATA_DIR: dataDir }), () => {
  dataDir = Deno.makeTempDirSync({ prefix: "nudges-dead-letters-" });
  return sqliteBus({ path: `${dataDir}/bus.sqlite`, pollMs: 20 });
}, { cleanup: () => Deno.remove(dataDir, { recursive: true }) });
scenario(
  "Kafka",
  () => ({ KAFKA_BROKERS: brokers! }),
  () => kafkaBus({ brokers: brokers!.split(","), sessionTimeoutMs: 6000 }),
  { ignore: !brokers },
);

Deno.test("dead-letters answers --help, and refuses bad options with exit code 2", async () => {
  const help = await runTask("dead-letters", ["--help"], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task dead-letters list/);
  for (
    const args of [[], ["purge"], ["list", "--id", "t:0:1"], ["retry", "--id", "nonsense"], [
      "list",
      "--topic",
    ]]
  ) {
    const run = await runTask("dead-letters", args, {});
    assert.equal(run.code, 2, `${args}: ${run.stderr}`);
    assert.match(run.stderr, /^dead-letters: .+\n\nUsage:/);
  }
});
