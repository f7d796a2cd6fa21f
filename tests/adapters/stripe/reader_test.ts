// The read calls of the Stripe port (StripeReader, StripeWebhookEndpoints) through the
// SDK, against the simulator (behaviour) and stripe-mock (Stripe's own spec of each call).
import assert from "node:assert/strict";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import type { StripeApi } from "../../../application/ports/stripe_gateway.ts";
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";

const KEY = "sk_test_reader";

Deno.test("the simulator lists every page newest first, retrieves, searches by metadata and lists its events", async () => {
  await using simulator = startStripeSimulator({ apiKey: KEY });
  const stripe = stripeClient({ apiKey: KEY, apiBase: simulator.url });
  const api: StripeApi = stripeSdkApi({ client: stripe });
  const since = Math.floor(Date.now() / 1000) - 5;
  const made: string[] = [];
  for (let i = 0; i < 5; i++) {
    made.push((await stripe.products.create({ name: `P${i}`, metadata: { n: `v'${i}` } })).id);
  }
  const first = await api.listPage("products", { limit: 2 });
  assert.deepEqual(first.data.map((p) => p.id), [made[4], made[3]]);
  assert.equal(first.hasMore, true);
  const last = await api.listPage("products", { limit: 2, startingAfter: made[1] });
  assert.deepEqual(last.data.map((p) => p.id), [made[0]]);
  assert.equal(last.hasMore, false);

  assert.equal((await api.retrieve("products", made[2]!))?.name, "P2");
  assert.equal(await api.retrieve("products", "prod_never"), null);
  assert.equal(await api.findByMetadata("products", "n", "v'3"), made[3]);
  assert.equal(await api.findByMetadata("products", "n", "none"), null);
  assert.deepEqual((await api.listPage("subscriptions", {})).data, []);

  const events = await api.listEvents({ createdGte: since, types: ["product.created"] });
  assert.equal(events.data.length, 5);
  assert.equal(events.data[0]!.type, "product.created");
  const none = await api.listEvents({ createdGte: since, types: ["price.created"] });
  assert.deepEqual(none.data, []);
});

Deno.test({
  name: "the read calls send what Stripe's spec takes (stripe-mock) and read its answers",
  ignore: skipUnlessStripeMock("the read calls against stripe-mock"),
  fn: async () => {
    const mock = await startStripeMock();
    try {
      const api = stripeSdkApi({ apiKey: "sk_test_123", apiBase: mock.url });
      for (const kind of ["products", "prices", "customers", "subscriptions"] as const) {
        const page = await api.listPage(kind, { limit: 100, startingAfter: "x_1" });
        assert.equal(page.data.length, 1, kind);
        assert.equal(typeof page.data[0]!.id, "string");
        assert.ok(await api.retrieve(kind, page.data[0]!.id), kind);
      }
      const events = await api.listEvents({ createdGte: 1, types: ["product.created"] });
      assert.equal(events.data.length, 1);
      assert.equal(
        typeof await api.findByMetadata("customers", "nudges_client_id", "c1"),
        "string",
      );
      assert.equal((await api.listWebhookEndpoints()).length, 1);
    } finally {
      await mock.stop();
    }
  },
});
