// The production shape end to end: the three apps as their own processes, started as
// their deno.json tasks start them, over the real Kafka broker and one SQLite DATA_DIR.
// Without STRIPE_API_KEY the consumer's embedded simulator plays Stripe and posts its
// signed webhooks to the webhooks app. Driven over HTTP only, like a user would.
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { INBOUND_GROUP } from "../../application/inbound/consumer.ts";
import { TOPICS } from "../../application/shared/integration_events.ts";
import { OUTBOUND_TOPICS } from "../../application/outbound/consumer.ts";
import { type AppProcess, eventually, get, sample, spawnApp } from "./app_process.ts";
import { freePort } from "../support/process.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");
if (!brokers) {
  console.log("production_test.ts: skipped the three apps over Kafka: KAFKA_BROKERS is not set");
}

const SECRETS = {
  STRIPE_WEBHOOKS_SECRET: "whsec_production_test_0123456789",
  WEBHOOKS_API_KEY: "production-test-webhooks-key-0123",
  PRODUCT_API_TOKEN: "production-test-api-token-0123456",
};

/** The apps' consumer groups, as the apps name them: [group, topic]. */
const GROUPS: [string, string][] = [
  ...OUTBOUND_TOPICS.map((topic): [string, string] => [`nudges.outbound.stripe.${topic}`, topic]),
  [INBOUND_GROUP, TOPICS.stripeEvents],
];

/**
 * The broker is shared with other tests that publish on the same fixed topics: the apps'
 * groups start at the topics' current ends, so they see this test's messages (and any
 * published meanwhile) instead of working through what earlier runs left.
 */
const startGroupsAtTheEnd = async (brokerList: string) => {
  const admin = new Kafka({ brokers: brokerList.split(","), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: Object.values(TOPICS).map((topic) => ({ topic })) });
    // Explicit offsets: resetOffsets() would store "latest" as -1, which a group that
    // starts from the beginning (as the apps' do) reads as "from the beginning".
    await Promise.all(GROUPS.map(async ([groupId, topic]) => {
      const ends = await admin.fetchTopicOffsets(topic);
      const partitions = ends.map(({ partition, high }) => ({ partition, offset: high }));
      // A run killed a moment ago leaves members until their session times out (30 s).
      for (let waited = 0;; waited += 1000) {
        try {
          return await admin.setOffsets({ groupId, topic, partitions });
        } catch (error) {
          if (!/no running instances/.test(String(error)) || waited > 40_000) throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    }));
  } finally {
    await admin.disconnect();
  }
};

Deno.test({
  name:
    "the three apps over Kafka sync a plan and its price tier with Stripe, then stop on SIGTERM",
  ignore: !brokers,
  fn: async () => {
    await startGroupsAtTheEnd(brokers!);
    const dataDir = await Deno.makeTempDir({ prefix: "production_" });
    const ports = { product_api: freePort(), webhooks: freePort(), kafka_consumer: freePort() };
    const base = (app: keyof typeof ports) => `http://127.0.0.1:${ports[app]}`;
    const env = {
      ...SECRETS,
      KAFKA_BROKERS: brokers!,
      DATA_DIR: dataDir,
      PRODUCT_API_PORT: String(ports.product_api),
      WEBHOOKS_PORT: String(ports.webhooks),
      KAFKA_CONSUMER_PORT: String(ports.kafka_consumer),
      WEBHOOKS_URL: base("webhooks"),
      // Debug: each message handled is logged, with its correlation id.
      LOG_LEVEL: "debug",
    };
    const apps: AppProcess[] = [];
    let statuses: Deno.CommandStatus[];
    try {
      for (const app of ["webhooks", "product_api", "kafka_consumer"] as const) {
        apps.push(await spawnApp(app, env));
      }
      const metricsOf = async (app: keyof typeof ports) => (await get(`${base(app)}/metrics`)).text;
      const graphql = async (query: string, requestId: string = crypto.randomUUID()) => {
        const response = await fetch(`${base("product_api")}/graphql`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${SECRETS.PRODUCT_API_TOKEN}`,
            "x-request-id": requestId,
          },
          body: JSON.stringify({ query }),
        });
        const body = await response.json();
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
        return body.data;
      };

      const expectedChecks = {
        webhooks: { eventStore: "ok" },
        product_api: { eventStore: "ok", readModel: "ok" },
        kafka_consumer: { eventStore: "ok", bus: "ok" },
      };
      for (const [app, checks] of Object.entries(expectedChecks)) {
        const ready = await eventually(`${app} ready`, async () => {
          const { status, text } = await get(`${base(app as keyof typeof ports)}/readyz`);
          return status === 200 ? JSON.parse(text) : undefined;
        }, { app: apps });
        assert.deepEqual(ready, { status: "ready", checks }, app);
        assert.equal((await get(`${base(app as keyof typeof ports)}/healthz`)).status, 200);
      }

      const requestId = `production-test-${crypto.randomUUID()}`;
      const name = `Production ${crypto.randomUUID()}`;
      const { createPlan } = await graphql(
        `mutation { createPlan(input: { name: "${name}" }) { id } }`,
        requestId,
      );
      const productId = await eventually("the plan's Stripe product", async () => {
        const { plan } = await graphql(
          `{ plan(id: "${createPlan.id}") { stripeProductId syncStatus } }`,
        );
        return plan.syncStatus === "SYNCED" ? plan.stripeProductId as string : undefined;
      }, { app: apps });
      assert.match(productId, /^prod_/);

      const { createPriceTier } = await graphql(`mutation {
        createPriceTier(input: {
          planId: "${createPlan.id}", unitAmount: 1500, currency: "usd", interval: MONTH
        }) { id }
      }`);
      const priceId = await eventually("the price tier's Stripe price", async () => {
        const { priceTier } = await graphql(
          `{ priceTier(id: "${createPriceTier.id}") { stripePriceId syncStatus } }`,
        );
        return priceTier.syncStatus === "SYNCED" ? priceTier.stripePriceId as string : undefined;
      }, { app: apps });
      assert.match(priceId, /^price_/);

      // The simulator's product.created and price.created came back to the webhooks app,
      // went on the bus and were applied by the inbound consumer.
      const inbound =
        `bus_messages_consumed_total{group="${INBOUND_GROUP}",topic="${TOPICS.stripeEvents}"}`;
      await eventually("the echoes applied", async () => {
        const metrics = await metricsOf("kafka_consumer");
        return (sample(metrics, inbound) ?? 0) >= 2 ? true : undefined;
      }, { app: apps });
      const webhooks = await metricsOf("webhooks");
      assert.ok((sample(webhooks, `webhooks_requests_total{outcome="recorded"}`) ?? 0) >= 2);

      const consumer = await metricsOf("kafka_consumer");
      for (const operation of ["createProduct", "createPrice"]) {
        assert.ok(
          (sample(consumer, `stripe_calls_total{operation="${operation}",outcome="ok"}`) ?? 0) >=
            1,
          operation,
        );
        assert.ok(
          (sample(consumer, `stripe_call_duration_seconds_count{operation="${operation}"}`) ??
            0) >= 1,
        );
      }
      assert.equal(sample(consumer, "stripe_circuit_state"), 0);
      const plans =
        `bus_messages_consumed_total{group="nudges.outbound.stripe.${TOPICS.plans}",topic="${TOPICS.plans}"}`;
      assert.ok((sample(consumer, plans) ?? 0) >= 1);

      const api = await eventually("the read model caught up", async () => {
        const metrics = await metricsOf("product_api");
        const caughtUp = sample(metrics, "projection_caught_up") === 1 &&
          sample(metrics, "projection_lag_events") === 0 &&
          (sample(metrics, "projection_position") ?? 0) >= 4;
        return caughtUp ? metrics : undefined;
      }, { app: apps });
      assert.ok((sample(api, "projection_position") ?? 0) >= 4);

      // The plan's message was handled under the correlation id of the request that made it.
      const correlated = apps[2]!.logs().filter((line) => line.correlationId === requestId);
      assert.ok(
        correlated.some((line) => line.message === "message handled"),
        `no consumer log line with correlationId ${requestId}`,
      );
    } finally {
      for (const app of apps) app.kill("SIGTERM");
      statuses = await Promise.all(apps.map((app) => app.finished));
      await Deno.remove(dataDir, { recursive: true });
    }
    for (const [i, app] of apps.entries()) {
      const tail = app.output.slice(-10).join("\n");
      assert.equal(statuses[i]!.code, 0, `${app.app} exits 0 on SIGTERM:\n${tail}`);
      assert.ok(app.output.some((line) => line.includes('"message":"stopped"')), app.app);
      const leaked = Object.keys(SECRETS).filter((name) =>
        app.output.some((line) => line.includes(SECRETS[name as keyof typeof SECRETS]))
      );
      assert.deepEqual(leaked, [], `${app.app} logged a secret`);
    }
  },
});
