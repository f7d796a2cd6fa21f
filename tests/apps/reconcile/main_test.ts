import assert from "node:assert/strict";
import { join } from "node:path";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { writeRunFile } from "../../../apps/dev/run_file.ts";
import { DATA_FILES } from "../../../apps/wiring.ts";
import { nudgesPlan } from "../../support/reconcile_fixtures.ts";
import { spawnApp } from "../app_process.ts";

const KEY = "sk_test_reconcile_cli";

const run = async (env: Record<string, string>, args: string[]) => {
  const app = await spawnApp("reconcile", env, args);
  const { code } = await app.finished;
  return { code, output: app.output.join("\n") };
};

Deno.test("deno task reconcile refuses bad options with exit code 2 and changes nothing", async () => {
  for (
    const args of [["--bogus"], ["--events-since", "yesterday"], [
      "--events-since",
      "2001-01-01T00:00:00Z",
    ]]
  ) {
    const { code, output } = await run({ DATA_DIR: "/nonexistent" }, args);
    assert.equal(code, 2, output);
    assert.match(output, /Usage: deno task reconcile/);
  }
  assert.equal(await Deno.stat("/nonexistent").catch(() => null), null);
});

Deno.test("deno task reconcile finds the dev run's simulator through DATA_DIR: --dry-run exits 1 on drift, a run repairs it and exits 0, a second finds none", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reconcile_cli_" });
  await using simulator = startStripeSimulator();
  try {
    await writeRunFile(dir, {
      graphql: "http://127.0.0.1:1/graphql",
      webhooks: "http://127.0.0.1:1",
      consumerOps: "http://127.0.0.1:1",
      stripeSimulator: simulator.url,
    });
    const store = sqliteEventStore(join(dir, DATA_FILES.events));
    await nudgesPlan(store, { name: "Never pushed" });
    await store.close();
    await stripeClient({ apiKey: KEY, apiBase: simulator.url }).products.create({
      name: "Dashboard",
    });
    const env = { DATA_DIR: dir };

    const dry = await run(env, ["--dry-run", "--json"]);
    assert.equal(dry.code, 1, dry.output);
    const report = JSON.parse(dry.output.slice(dry.output.indexOf("{")));
    assert.equal(report.found, 2);
    assert.equal(report.dryRun, true);

    const repaired = await run(env, []);
    assert.equal(repaired.code, 0, repaired.output);
    assert.match(repaired.output, /reconcile: products: 1 listed/);
    assert.match(repaired.output, /2 drift\(s\) found, 2 repaired, 0 remain/);

    const again = await run(env, []);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /0 drift\(s\) found, 0 repaired, 0 remain/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task webhooks register creates the endpoint, prints its secret once and never the code; run again it changes nothing", async () => {
  await using simulator = startStripeSimulator({ apiKey: KEY });
  const code = "the-webhooks-api-key-42-abcdef";
  const env = { STRIPE_API_KEY: KEY, STRIPE_API_BASE: simulator.url, WEBHOOKS_API_KEY: code };
  const app = async () => {
    const process = await spawnApp("webhooks", env, ["register", "https://nudges.example.com"]);
    const { code: exit } = await process.finished;
    return { exit, output: process.output.join("\n") };
  };
  const first = await app();
  assert.equal(first.exit, 0, first.output);
  assert.match(
    first.output,
    /created webhook endpoint we_\w+ for https:\/\/nudges\.example\.com\/api\/StripeWebhookHandler\?code=…/,
  );
  assert.match(first.output, /^whsec_\w+$/m);
  assert.doesNotMatch(first.output, new RegExp(code));

  const second = await app();
  assert.equal(second.exit, 0, second.output);
  assert.match(second.output, /nothing changed/);
  assert.doesNotMatch(second.output, /whsec_/);
});
