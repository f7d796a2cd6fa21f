import assert from "node:assert/strict";
import { join } from "node:path";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { jsonLogger } from "../../../adapters/observability/json_logger.ts";
import { HEADERS, TOPICS } from "../../../application/shared/integration_events.ts";
import { loadConfig } from "../../../apps/config.ts";
import { DATA_FILES } from "../../../apps/wiring.ts";
import { startKafkaConsumer } from "../../../apps/kafka_consumer/main.ts";
import { eventually, get, sample, spawnApp } from "../app_process.ts";
import { freePort } from "../../support/process.ts";

const inTempDir = async (body: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "kafka_consumer_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

/** Nothing answers there: these tests make no Stripe call. */
const NO_STRIPE = { apiKey: "sk_test_unused", apiBase: "http://127.0.0.1:9" };

Deno.test("outside dev mode the consumer app will not start without a Stripe key or the simulator's secrets", () =>
  inTempDir(async (dir) => {
    const app = await spawnApp("kafka_consumer", { DATA_DIR: dir });
    assert.equal((await app.finished).code, 1);
    const said = app.output.join("\n");
    assert.match(
      said,
      /missing required environment variable\(s\): STRIPE_WEBHOOKS_SECRET, WEBHOOKS_API_KEY/,
    );
    assert.match(said, /set STRIPE_API_KEY/);
    await assert.rejects(Deno.stat(join(dir, DATA_FILES.bus)), Deno.errors.NotFound);
  }));

Deno.test("with STRIPE_API_KEY the consumer app needs no webhook secrets, is ready, and stops on SIGTERM", () =>
  inTempDir(async (dir) => {
    const port = freePort();
    const app = await spawnApp("kafka_consumer", {
      DATA_DIR: dir,
      STRIPE_API_KEY: "sk_test_consumer0123456789",
      STRIPE_API_BASE: NO_STRIPE.apiBase,
      KAFKA_CONSUMER_PORT: String(port),
    });
    try {
      const ready = await eventually("ready", async () => {
        const { status, text } = await get(`http://127.0.0.1:${port}/readyz`);
        return status === 200 ? JSON.parse(text) : undefined;
      }, { app: [app] });
      assert.deepEqual(ready, { status: "ready", checks: { eventStore: "ok", bus: "ok" } });
      assert.equal((await get(`http://127.0.0.1:${port}/healthz`)).status, 200);
    } finally {
      app.kill("SIGTERM");
    }
    assert.equal((await app.finished).code, 0, app.output.join("\n"));
  }));

Deno.test("a message the consumer gives up on is counted and logged with its correlation id", () =>
  inTempDir(async (dir) => {
    const lines: string[] = [];
    const config = loadConfig({ DATA_DIR: dir }, { dev: false });
    const app = await startKafkaConsumer({
      config,
      stripe: NO_STRIPE,
      logger: jsonLogger({ write: (line) => lines.push(line) }),
      port: 0,
    });
    const publisher = sqliteBus({ path: join(dir, DATA_FILES.bus) });
    try {
      await publisher.publish([{
        topic: TOPICS.plans,
        key: "plan-1",
        value: "not JSON",
        headers: { [HEADERS.correlationId]: "corr-dead-letter-test" },
      }]);
      const series =
        `bus_messages_dead_lettered_total{group="nudges.outbound.stripe.${TOPICS.plans}",topic="${TOPICS.plans}"}`;
      await eventually("dead-lettered", async () => {
        const { text } = await get(`http://127.0.0.1:${app.port}/metrics`);
        return sample(text, series) === 1 ? true : undefined;
      });
      const logged = lines.map((line) => JSON.parse(line))
        .filter((line) => line.correlationId === "corr-dead-letter-test")
        .map((line) => line.message);
      assert.deepEqual(logged, ["message handler failed", "message dead-lettered"]);
    } finally {
      await publisher.close();
      await app.close();
    }
  }));

Deno.test("the consumer app is not ready once its bus is gone", () =>
  inTempDir(async (dir) => {
    const bus = sqliteBus({ path: join(dir, DATA_FILES.bus) });
    const app = await startKafkaConsumer({
      config: loadConfig({ DATA_DIR: dir }, { dev: false }),
      bus,
      stripe: NO_STRIPE,
      logger: jsonLogger({ write: () => {} }),
      port: 0,
    });
    try {
      const url = `http://127.0.0.1:${app.port}/readyz`;
      assert.equal((await get(url)).status, 200);
      await bus.close();
      const { status, text } = await get(url);
      assert.equal(status, 503);
      assert.deepEqual(JSON.parse(text).checks, { eventStore: "ok", bus: "the bus is closed" });
    } finally {
      await app.close();
    }
  }));
