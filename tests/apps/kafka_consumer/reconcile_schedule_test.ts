import assert from "node:assert/strict";
import { jsonLogger } from "../../../adapters/observability/json_logger.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { loadConfig } from "../../../apps/config.ts";
import { startKafkaConsumer } from "../../../apps/kafka_consumer/main.ts";
import { eventually, get, sample } from "../app_process.ts";

const KEY = "sk_test_reconcile_schedule";

Deno.test("with RECONCILE_INTERVAL the consumer app reconciles under its lease and shows the last run in /metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kafka_consumer_reconcile_" });
  const simulator = startStripeSimulator({ apiKey: KEY });
  // Made in the Dashboard while Nudges was not listening: one product, one price.
  const stripe = stripeClient({ apiKey: KEY, apiBase: simulator.url });
  const product = await stripe.products.create({ name: "Dashboard plan" });
  await stripe.prices.create({ product: product.id, unit_amount: 500, currency: "usd" });
  const lines: string[] = [];
  const app = await startKafkaConsumer({
    config: loadConfig({ DATA_DIR: dir, RECONCILE_INTERVAL: "1h" }, { dev: false }),
    stripe: { apiKey: KEY, apiBase: simulator.url },
    logger: jsonLogger({ write: (line) => lines.push(line) }),
    port: 0,
  });
  try {
    const metrics = () => get(`http://127.0.0.1:${app.port}/metrics`).then((r) => r.text);
    await eventually(
      "a reconcile run",
      async () =>
        (await sample(await metrics(), "reconcile_last_run_timestamp_seconds") ?? 0) > 0
          ? true
          : undefined,
    );
    const text = await metrics();
    assert.equal(sample(text, 'reconcile_drift_found{kind="product"}'), 1);
    assert.equal(sample(text, 'reconcile_drift_repaired{kind="price"}'), 1);
    assert.equal(sample(text, 'reconcile_runs_total{outcome="in_line"}'), 1);
    assert.ok(lines.some((line) => JSON.parse(line).message === "reconcile run done"));
    assert.ok(lines.some((line) => JSON.parse(line).lease === "lease-reconcile"));
  } finally {
    await app.close();
    await simulator.close();
    await Deno.remove(dir, { recursive: true });
  }
});
