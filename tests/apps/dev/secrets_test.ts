import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../../apps/config.ts";
import { DEV_SECRETS_FILE, loadDevConfig } from "../../../apps/dev/secrets.ts";

const inTempDir = async (body: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "dev_secrets_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test("loadDevConfig() keeps the secrets it made up, owner-only, and uses them on the next start", () =>
  inTempDir(async (dir) => {
    const DATA_DIR = join(dir, "data");
    const first = loadDevConfig({ DATA_DIR });
    assert.deepEqual(Object.keys(first.madeUp).sort(), [
      "PRODUCT_API_TOKEN",
      "STRIPE_WEBHOOKS_SECRET",
      "WEBHOOKS_API_KEY",
    ]);
    const file = join(DATA_DIR, DEV_SECRETS_FILE);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    const second = loadDevConfig({ DATA_DIR });
    assert.deepEqual(second.madeUp, first.madeUp);
    assert.equal(second.productApiToken, first.productApiToken);
    assert.equal(second.webhooksApiKey, first.webhooksApiKey);
    assert.equal(second.stripeWebhooksSecret, first.stripeWebhooksSecret);
  }));

Deno.test("loadDevConfig() makes up only what the environment lacks, and never keeps a given secret", () =>
  inTempDir(async (DATA_DIR) => {
    const given = "a-product-api-token-from-the-environment";
    const config = loadDevConfig({ DATA_DIR, PRODUCT_API_TOKEN: given });
    assert.equal(config.productApiToken, given);
    assert.deepEqual(Object.keys(config.madeUp).sort(), [
      "STRIPE_WEBHOOKS_SECRET",
      "WEBHOOKS_API_KEY",
    ]);
    const kept = await Deno.readTextFile(join(DATA_DIR, DEV_SECRETS_FILE));
    assert.ok(!kept.includes(given));

    const all = loadDevConfig({
      DATA_DIR,
      PRODUCT_API_TOKEN: given,
      WEBHOOKS_API_KEY: "a-webhooks-api-key-from-the-environment",
      STRIPE_WEBHOOKS_SECRET: "whsec_from_the_environment",
    });
    assert.deepEqual(all.madeUp, {});
    assert.equal(all.stripeWebhooksSecret, "whsec_from_the_environment");
  }));

Deno.test("loadDevConfig() refuses a damaged dev_secrets.json, naming it, and leaves it as it was", () =>
  inTempDir(async (DATA_DIR) => {
    const file = join(DATA_DIR, DEV_SECRETS_FILE);
    for (const damaged of ["{ not json", '["a"]', '{ "PRODUCT_API_TOKEN": "short" }']) {
      await Deno.writeTextFile(file, damaged);
      assert.throws(
        () => loadDevConfig({ DATA_DIR }),
        (error: Error) => error instanceof ConfigError && error.message.includes(file),
      );
      assert.equal(await Deno.readTextFile(file), damaged);
    }
  }));
