// Every outbound handler against stripe-mock, which checks each request against Stripe's
// OpenAPI spec: a request Stripe would refuse comes back 400, and the object FAILED.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { outboundHandler } from "../../../application/outbound/handler.ts";
import type { StripeGateway } from "../../../application/ports/stripe_gateway.ts";
import { catalog, NOW } from "../../support/stripe_outbound_fixtures.ts";
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";

const ignore = skipUnlessStripeMock("the outbound handlers against stripe-mock");

/** The gateway, noting each call's operation and the id Stripe answered. */
const recording = (gateway: StripeGateway) => {
  const calls: string[] = [];
  const wrapped = Object.fromEntries(
    Object.entries(gateway).map(([name, call]) => [
      name,
      async (...args: unknown[]) => {
        const id = await (call as (...a: unknown[]) => Promise<string>)(...args);
        calls.push(`${name} ${id.replace(/_.*/, "_")}`);
        return id;
      },
    ]),
  ) as unknown as StripeGateway;
  return { gateway: wrapped, calls };
};

Deno.test({
  name: "every outbound handler makes a call stripe-mock accepts and records the outcome",
  ignore,
  async fn() {
    const mock = await startStripeMock();
    try {
      const store = memoryEventStore();
      const stripe = recording(stripeSdkGateway({ apiKey: "sk_test_123", apiBase: mock.url }));
      const handle = outboundHandler({ store, gateway: stripe.gateway, clock: () => NOW });
      const nudges = catalog(store);

      await handle(
        await nudges.createPlan("plan-1", { iconUrl: "https://cdn.example.com/gold.png" }),
      );
      await handle(await nudges.createPlan("plan-2", { description: null }));
      await handle(await nudges.updatePlan("plan-1", { name: "Platinum", description: null }));
      await handle(
        await nudges.updatePlan("plan-1", {
          iconUrl: "https://cdn.example.com/p.png",
          isActive: false,
        }),
      );
      await handle(await nudges.updatePlan("plan-1", { iconUrl: null }));
      await handle(await nudges.createTier("tier-1", "plan-1", { interval: "year" }));
      await handle(
        await nudges.createTier("tier-2", "plan-1", {
          name: null,
          interval: null,
          intervalCount: null,
        }),
      );
      await handle(await nudges.deleteTier("tier-1", "plan-1"));
      await handle(await nudges.deletePlan("plan-2"));
      await handle(await nudges.createClient("client-1"));

      assert.deepEqual(stripe.calls, [
        "createProduct prod_",
        "createProduct prod_",
        "updateProduct prod_",
        "updateProduct prod_",
        "updateProduct prod_",
        "createPrice price_",
        "createPrice price_",
        "archivePrice price_",
        "updateProduct prod_",
        "createCustomer cus_",
      ]);
      const outcomes = (await store.readAll({ limit: 1000 }))
        .filter((e) => /Linked|SyncFailed/.test(e.type))
        .map((e) => `${e.streamId} ${e.type}`);
      assert.deepEqual(outcomes, [
        "plan-plan-1 StripeProductLinked",
        "plan-plan-2 StripeProductLinked",
        "priceTier-tier-1 StripePriceLinked",
        "priceTier-tier-2 StripePriceLinked",
        "client-client-1 StripeCustomerLinked",
      ]);
    } finally {
      await mock.stop();
    }
  },
});
