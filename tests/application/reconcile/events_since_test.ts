import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { reconcile } from "../../../application/reconcile/run.ts";
import { stripeEventStream } from "../../../application/shared/stripe_events.ts";
import { reconcileDeps } from "../../support/reconcile_fixtures.ts";

const KEY = "sk_test_events_since";

Deno.test("reconcile() with eventsSince records Stripe's handled events as the endpoint does, oldest first, and repeats change nothing", async () => {
  await using simulator = startStripeSimulator({ apiKey: KEY });
  const stripe = stripeClient({ apiKey: KEY, apiBase: simulator.url });
  const since = Math.floor(Date.now() / 1000) - 60;
  const product = await stripe.products.create({ name: "Missed" });
  await stripe.products.update(product.id, { name: "Missed, renamed" });
  const store = memoryEventStore();
  const deps = reconcileDeps(store, stripeSdkApi({ client: stripe }));

  const dry = await reconcile(deps, { eventsSince: since, dryRun: true });
  assert.equal(dry.events?.listed, 2);
  assert.equal(dry.events?.recorded, 0);
  assert.deepEqual(await store.readAll(), []);

  const first = await reconcile(deps, { eventsSince: since });
  assert.deepEqual(
    { listed: first.events?.listed, recorded: first.events?.recorded },
    { listed: 2, recorded: 2 },
  );
  const recorded = (await store.readAll({ limit: 100 }))
    .filter((e) => e.type === "StripeWebhookReceived")
    .map((e) => (e.data as { stripeEventType: string }).stripeEventType);
  assert.deepEqual(recorded, ["product.created", "product.updated"]);
  const [created] = (await stripe.events.list({ type: "product.created" })).data;
  assert.equal((await store.readStream(stripeEventStream(created!.id))).length, 1);

  const again = await reconcile(deps, { eventsSince: since });
  assert.deepEqual(
    { recorded: again.events?.recorded, duplicate: again.events?.duplicate },
    { recorded: 0, duplicate: 2 },
  );
});
