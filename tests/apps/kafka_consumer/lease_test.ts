// Replicas of the consumer app share one event store: the outbox runs in one of them only.
import assert from "node:assert/strict";
import { join } from "node:path";
import { jsonLogger } from "../../../adapters/observability/json_logger.ts";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { leaseStream } from "../../../application/lease/lease.ts";
import { loadConfig } from "../../../apps/config.ts";
import { DATA_FILES } from "../../../apps/wiring.ts";
import { type KafkaConsumer, startKafkaConsumer } from "../../../apps/kafka_consumer/main.ts";
import { eventually, get, sample } from "../app_process.ts";

/** Nothing answers there: this test makes no Stripe call. */
const NO_STRIPE = { apiKey: "sk_test_unused", apiBase: "http://127.0.0.1:9" };

const leaseHeld = async (app: KafkaConsumer) =>
  sample((await get(`http://127.0.0.1:${app.port}/metrics`)).text, "outbox_lease_held");

Deno.test("of two consumer apps on one store only one runs the outbox, says so in outbox_lease_held, and releases it on stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kafka_consumer_lease_" });
  const start = (lines: string[] = []) =>
    startKafkaConsumer({
      config: loadConfig({ DATA_DIR: dir }, { dev: false }),
      stripe: NO_STRIPE,
      logger: jsonLogger({ write: (line) => lines.push(line) }),
      port: 0,
    });
  const first = await start();
  let second: KafkaConsumer | undefined;
  try {
    await eventually(
      "the first holds the lease",
      async () => await leaseHeld(first) === 1 ? true : undefined,
    );
    const said: string[] = [];
    second = await start(said);
    await eventually("the second found the lease taken", () =>
      Promise.resolve(
        said.some((line) => JSON.parse(line).message === "lease held elsewhere, waiting")
          ? true
          : undefined,
      ));
    assert.equal(await leaseHeld(second), 0);
    assert.equal(await leaseHeld(first), 1);

    await first.close();
    const store = sqliteEventStore(join(dir, DATA_FILES.events));
    try {
      const last = (await store.readStream(leaseStream("outbox"))).at(-1);
      assert.equal(last?.type, "LeaseReleased");
    } finally {
      await store.close();
    }
  } finally {
    await first.close();
    await second?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
