import assert from "node:assert/strict";
import { ConfigError, loadConfig, secretsOf } from "../../apps/config.ts";

const SECRETS = {
  STRIPE_WEBHOOKS_SECRET: "whsec_config_test_0123",
  WEBHOOKS_API_KEY: "config-test-webhooks-key",
  PRODUCT_API_TOKEN: "config-test-product-token",
};
const ALL = ["STRIPE_WEBHOOKS_SECRET", "WEBHOOKS_API_KEY", "PRODUCT_API_TOKEN"] as const;

Deno.test("loadConfig() outside dev mode names every required secret that is missing", () => {
  assert.throws(
    () => loadConfig({ WEBHOOKS_API_KEY: "" }, { dev: false, required: [...ALL] }),
    new ConfigError(
      "missing required environment variable(s): STRIPE_WEBHOOKS_SECRET, WEBHOOKS_API_KEY, PRODUCT_API_TOKEN",
    ),
  );
});

Deno.test("loadConfig() in dev mode makes up the missing secrets and lists them", () => {
  const config = loadConfig({ PRODUCT_API_TOKEN: SECRETS.PRODUCT_API_TOKEN }, {
    dev: true,
    required: [...ALL],
  });
  assert.deepEqual(Object.keys(config.madeUp).sort(), [
    "STRIPE_WEBHOOKS_SECRET",
    "WEBHOOKS_API_KEY",
  ]);
  assert.match(config.stripeWebhooksSecret, /^whsec_dev_/);
  assert.equal(config.productApiToken, SECRETS.PRODUCT_API_TOKEN);
});

Deno.test("loadConfig() refuses a malformed value by its variable, without echoing the value", () => {
  const value = "pk_test_publishableNotSecret0123";
  assert.throws(
    () => loadConfig({ ...SECRETS, STRIPE_API_KEY: value }, { dev: false }),
    (error: Error) =>
      error instanceof ConfigError && /^STRIPE_API_KEY: /.test(error.message) &&
      !error.message.includes(value),
  );
});

Deno.test("loadConfig() refuses a webhook secret that is whsec_ with fewer than 16 characters after it", () => {
  for (const value of ["whsec_", "whsec_0123456789abcde", "0123456789abcdef0123456789"]) {
    assert.throws(
      () => loadConfig({ ...SECRETS, STRIPE_WEBHOOKS_SECRET: value }, { dev: false }),
      (error: Error) =>
        error instanceof ConfigError &&
        error.message === "STRIPE_WEBHOOKS_SECRET: STRIPE_WEBHOOKS_SECRET must be whsec_ and " +
            "16 characters or more",
      value,
    );
  }
  const config = loadConfig({ ...SECRETS, STRIPE_WEBHOOKS_SECRET: "whsec_0123456789abcdef" }, {
    dev: false,
  });
  assert.equal(config.stripeWebhooksSecret, "whsec_0123456789abcdef");
});

Deno.test("loadConfig() reads the consumer's port, the webhooks URL and the log level", () => {
  const defaults = loadConfig({ ...SECRETS, WEBHOOKS_PORT: "8071" }, { dev: false });
  assert.equal(defaults.consumerPort, 7072);
  assert.equal(defaults.webhooksUrl, "http://127.0.0.1:8071");
  assert.equal(defaults.logLevel, "info");
  const given = loadConfig({
    ...SECRETS,
    KAFKA_CONSUMER_PORT: "9072",
    WEBHOOKS_URL: "http://webhooks:7071/",
    LOG_LEVEL: "debug",
  }, { dev: false });
  assert.deepEqual(
    [given.consumerPort, given.webhooksUrl, given.logLevel],
    [9072, "http://webhooks:7071", "debug"],
  );
  assert.throws(
    () => loadConfig({ ...SECRETS, WEBHOOKS_URL: "ftp://webhooks" }, { dev: false }),
    /WEBHOOKS_URL must be an http\(s\) URL/,
  );
  assert.throws(
    () => loadConfig({ ...SECRETS, LOG_LEVEL: "verbose" }, { dev: false }),
    /LOG_LEVEL must be debug, info, warn or error/,
  );
});

Deno.test("secretsOf() lists the keys, the tokens and the EventStoreDB credentials", () => {
  const config = loadConfig({
    ...SECRETS,
    STRIPE_API_KEY: "sk_test_config0123",
    EVENTSTORE_CONNECTION_STRING: "esdb://admin:changeit@kurrentdb:2113?tls=false",
  }, { dev: false });
  const secrets = secretsOf(config);
  for (const value of [...Object.values(SECRETS), "sk_test_config0123", "changeit"]) {
    assert.ok(secrets.includes(value), value);
  }
  assert.ok(!secrets.some((secret) => secret.includes("kurrentdb")), "the host is no secret");
});

Deno.test("loadConfig() reads the product API's public reads and WebSocket caps", () => {
  const defaults = loadConfig(SECRETS, { dev: false });
  assert.deepEqual(
    [
      defaults.productApiPublicReads,
      defaults.productApiMaxSockets,
      defaults.productApiMaxSubscriptionsPerSocket,
    ],
    [false, 1000, 100],
  );
  const set = loadConfig({
    ...SECRETS,
    PRODUCT_API_PUBLIC_READS: "true",
    PRODUCT_API_MAX_SOCKETS: "20",
    PRODUCT_API_MAX_SUBSCRIPTIONS_PER_SOCKET: "5",
  }, { dev: false });
  assert.deepEqual(
    [set.productApiPublicReads, set.productApiMaxSockets, set.productApiMaxSubscriptionsPerSocket],
    [true, 20, 5],
  );
  for (
    const [name, value] of [
      ["PRODUCT_API_PUBLIC_READS", "yes"],
      ["PRODUCT_API_MAX_SOCKETS", "0"],
      ["PRODUCT_API_MAX_SUBSCRIPTIONS_PER_SOCKET", "many"],
    ]
  ) {
    assert.throws(
      () => loadConfig({ ...SECRETS, [name!]: value }, { dev: false }),
      (error: Error) => error instanceof ConfigError && error.message.startsWith(`${name}: `),
    );
  }
});

Deno.test("secretsOf() masks an EventStoreDB password holding / or ? as the client reads it", () => {
  for (const password of ["pa/ss", "pa?ss", "p&w=1", "a%40b"]) {
    const config = loadConfig({
      ...SECRETS,
      EVENTSTORE_CONNECTION_STRING: `esdb://admin:${password}@db:2113?tls=false`,
    }, { dev: false });
    const secrets = secretsOf(config);
    assert.ok(secrets.includes(password), password);
    assert.ok(secrets.includes(decodeURIComponent(password)), password);
    assert.ok(secrets.includes(`admin:${password}`), password);
    assert.ok(!secrets.some((secret) => secret.includes("db:2113")), "the host is no secret");
  }
});
