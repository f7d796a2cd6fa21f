// No secret reaches an app's output: the three apps run as their own processes with known
// secrets, do their work and fail in the ways that log (a Stripe that refuses the key and
// echoes it back, refused webhooks and GraphQL calls, a bad connection string at start),
// and every line they wrote is searched for each secret.
import assert from "node:assert/strict";
import {
  API_KEY,
  product,
  SECRET,
  signedRequest,
  stripeEvent,
} from "../support/webhook_fixtures.ts";
import { type AppProcess, eventually, get, spawnApp } from "./app_process.ts";
import { freePort } from "../support/process.ts";

const SECRETS = {
  STRIPE_API_KEY: "sk_test_secretsTestKey0123456789",
  STRIPE_WEBHOOKS_SECRET: SECRET,
  WEBHOOKS_API_KEY: API_KEY,
  PRODUCT_API_TOKEN: "secrets-test-product-token-0123",
};
const ESDB_PASSWORD = "esdbSecretPassw0rd";

const leaks = (app: AppProcess, secrets: readonly string[]) =>
  secrets.filter((secret) => app.output.some((line) => line.includes(secret)));

/** A Stripe that refuses every call, quoting the key it was given (real Stripe masks it). */
const refusingStripe = () => {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    calls++;
    await r.body?.cancel();
    const key = r.headers.get("authorization")?.replace(/^Bearer /, "");
    return Response.json({
      error: { type: "invalid_request_error", message: `Invalid API Key provided: ${key}` },
    }, { status: 401 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, calls: () => calls, server };
};

Deno.test("the apps never write a secret, while working or failing, and stop on SIGTERM", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "secrets_" });
  const stripe = refusingStripe();
  const ports = { product_api: freePort(), webhooks: freePort(), kafka_consumer: freePort() };
  const base = (app: keyof typeof ports) => `http://127.0.0.1:${ports[app]}`;
  const env = {
    ...SECRETS,
    STRIPE_API_BASE: stripe.url,
    DATA_DIR: dataDir,
    PRODUCT_API_PORT: String(ports.product_api),
    WEBHOOKS_PORT: String(ports.webhooks),
    KAFKA_CONSUMER_PORT: String(ports.kafka_consumer),
    LOG_LEVEL: "debug",
  };
  const apps: AppProcess[] = [];
  let statuses: Deno.CommandStatus[];
  try {
    for (const app of ["webhooks", "product_api", "kafka_consumer"] as const) {
      apps.push(await spawnApp(app, env));
    }
    for (const app of Object.keys(ports) as (keyof typeof ports)[]) {
      await eventually(`${app} ready`, async () => {
        const { status } = await get(`${base(app)}/readyz`);
        return status === 200 ? true : undefined;
      }, { app: apps });
    }

    const graphql = async (query: string, token: string) => {
      const response = await fetch(`${base("product_api")}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      return await response.json();
    };
    const created = await graphql(
      `mutation { createPlan(input: { name: "Secretive" }) { id } }`,
      SECRETS.PRODUCT_API_TOKEN,
    );
    assert.ok(created.data.createPlan.id);
    const refused = await graphql(
      `mutation { createPlan(input: { name: "Nope" }) { id } }`,
      `${SECRETS.PRODUCT_API_TOKEN}-wrong`,
    );
    assert.equal(refused.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");

    const webhook = (request: Request) =>
      fetch(request).then(async (response) => {
        await response.body?.cancel();
        return response.status;
      });
    const event = stripeEvent("product.created", product({ id: "prod_SECRETS" }));
    const now = Math.floor(Date.now() / 1000);
    const url = base("webhooks");
    assert.equal(await webhook(await signedRequest(event, { base: url, timestamp: now })), 200);
    assert.equal(
      await webhook(await signedRequest(event, { base: url, secrets: ["whsec_other_0123456789"] })),
      400,
    );
    assert.equal(await webhook(await signedRequest(event, { base: url, code: "wrong" })), 401);

    // Stripe answered 401 quoting the key: the consumer logged the retries, masked.
    await eventually("the consumer logged Stripe's refusal", () => {
      const line = apps[2]!.output.find((l) => l.includes("Invalid API Key provided"));
      return Promise.resolve(line?.includes("[redacted]") ? line : undefined);
    }, { app: apps });
    assert.ok(stripe.calls() >= 1);
  } finally {
    for (const app of apps) app.kill("SIGTERM");
    statuses = await Promise.all(apps.map((app) => app.finished));
    await stripe.server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  }
  for (const [i, app] of apps.entries()) {
    assert.equal(statuses[i]!.code, 0, `${app.app}:\n${app.output.slice(-10).join("\n")}`);
    assert.deepEqual(leaks(app, Object.values(SECRETS)), [], `${app.app} wrote a secret`);
  }
});

Deno.test("an app that cannot start says why without the secrets it was given", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "secrets_" });
  try {
    // Valid at a glance, refused by the EventStoreDB client: each app fails at start.
    const env = {
      ...SECRETS,
      EVENTSTORE_CONNECTION_STRING: `esdb://admin:${ESDB_PASSWORD}@127.0.0.1:2113?tls=false&x=1`,
      DATA_DIR: dataDir,
      PRODUCT_API_PORT: String(freePort()),
      WEBHOOKS_PORT: String(freePort()),
      KAFKA_CONSUMER_PORT: String(freePort()),
    };
    for (const name of ["product_api", "webhooks", "kafka_consumer"] as const) {
      const app = await spawnApp(name, env);
      assert.equal((await app.finished).code, 1, name);
      const failure = app.logs().find((line) => line.message === "could not start");
      assert.match(JSON.stringify(failure), /EVENTSTORE_CONNECTION_STRING has an unknown option/);
      assert.deepEqual(leaks(app, [...Object.values(SECRETS), ESDB_PASSWORD]), [], name);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
