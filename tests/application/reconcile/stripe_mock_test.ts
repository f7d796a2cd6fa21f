import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { reconcile } from "../../../application/reconcile/run.ts";
import { exitCodeOf } from "../../../application/reconcile/report.ts";
import { plans, planSubscriptions, priceTiers } from "../../../application/shared/aggregates.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import { reconcileDeps } from "../../support/reconcile_fixtures.ts";
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";

Deno.test({
  name:
    "reconcile() reads every list of stripe-mock and imports its product, price and subscription",
  ignore: skipUnlessStripeMock("reconcile against stripe-mock"),
  fn: async () => {
    const mock = await startStripeMock();
    try {
      const store = memoryEventStore();
      const gateway = stripeSdkApi({ apiKey: "sk_test_123", apiBase: mock.url });
      const report = await reconcile(reconcileDeps(store, gateway));
      assert.deepEqual(report.listed, { products: 1, prices: 1, customers: 1, subscriptions: 1 });
      const [product] = (await gateway.listPage("products", {})).data;
      const [price] = (await gateway.listPage("prices", {})).data;

      const found = report.drifts.map((d) => `${d.kind} ${d.type} ${d.outcome.status}`).sort();
      assert.deepEqual(found, [
        "price missingInNudges repaired",
        "product missingInNudges repaired",
        "subscription missingInNudges repaired",
      ]);
      // stripe-mock's customer has no metadata.nudges_client_id: not Nudges' to import.
      assert.deepEqual(report.ignored.map((i) => i.kind), ["customer"]);
      const plan = (await plans.read(store, nameBasedId("plan", product!.id))).state!;
      assert.equal(plan.stripeProductId, product!.id);
      const tier = (await priceTiers.read(store, nameBasedId("priceTier", price!.id))).state!;
      assert.equal(tier.planId, plan.id);
      const [subscription] = (await gateway.listPage("subscriptions", {})).data;
      const imported = (await planSubscriptions.read(
        store,
        nameBasedId("planSubscription", subscription!.id),
      )).state!;
      assert.equal(imported.priceTierId, tier.id);
      assert.equal(imported.stripeSubscriptionId, subscription!.id);
      assert.equal(imported.status, subscription!.status);
      assert.equal(exitCodeOf(report), 0);
      const again = await reconcile(reconcileDeps(store, gateway));
      assert.deepEqual(again.drifts.map((d) => `${d.kind} ${d.type}`), []);
    } finally {
      await mock.stop();
    }
  },
});
