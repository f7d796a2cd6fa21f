// The billing calls of the Stripe gateway against stripe-mock, which checks each request
// against Stripe's OpenAPI spec, and against the simulator, which keeps what they change.
import assert from "node:assert/strict";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import type { NewCheckoutSession } from "../../../application/ports/stripe_gateway.ts";
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";
import { goldMonthly } from "../../support/stripe_outbound_fixtures.ts";

const noStripeMock = skipUnlessStripeMock("the gateway's billing calls against stripe-mock");

const session = (overrides: Partial<NewCheckoutSession> = {}): NewCheckoutSession => ({
  nudgesClientId: "client-1",
  nudgesPlanId: "plan-1",
  nudgesPriceTierId: "tier-1",
  stripeCustomerId: "cus_123",
  stripePriceId: "price_123",
  mode: "subscription",
  successUrl: "https://app.example.com/paid?session={CHECKOUT_SESSION_ID}",
  cancelUrl: "https://app.example.com/plans",
  ...overrides,
});

Deno.test({
  name: "stripeSdkGateway() billing calls are ones Stripe's OpenAPI spec accepts (stripe-mock)",
  ignore: noStripeMock,
  async fn() {
    const mock = await startStripeMock();
    try {
      const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: mock.url });
      const created = await gateway.createCheckoutSession(session(), "nudges-e1");
      assert.match(created.id, /^cs_/);
      assert.equal(typeof created.url, "string");
      await gateway.createCheckoutSession(session({ mode: "payment" }), "nudges-e2");
      const items = await gateway.listCheckoutLineItems(created.id);
      assert.ok(items.every((item) => typeof item.price.id === "string"));
      assert.match(
        await gateway.cancelSubscription("sub_123", { immediately: false }, "nudges-e3"),
        /^sub_/,
      );
      assert.match(
        await gateway.cancelSubscription("sub_123", { immediately: true }, "nudges-e4"),
        /^sub_/,
      );
      assert.match(
        await gateway.updateCustomer(
          "cus_123",
          { name: "Ada", email: "ada@example.com" },
          "nudges-e5",
        ),
        /^cus_/,
      );
    } finally {
      await mock.stop();
    }
  },
});

Deno.test("stripeSdkGateway() billing calls change what the simulator keeps", async () => {
  await using simulator = startStripeSimulator();
  const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: simulator.url });
  const { price } = await goldMonthly(gateway);
  const customer = await gateway.createCustomer(
    { nudgesClientId: "client-1", name: "Ada", email: "ada@example.com" },
    "k3",
  );
  const created = await gateway.createCheckoutSession(
    session({ stripeCustomerId: customer, stripePriceId: price }),
    "k4",
  );
  assert.equal(created.url, `${simulator.url}/c/pay/${created.id}`);
  const [item] = await gateway.listCheckoutLineItems(created.id);
  assert.deepEqual(item && [item.price.id, item.quantity, item.amountSubtotal], [price, 1, 1500]);
  // The same key again is the same session: Stripe's idempotency.
  assert.equal(
    (await gateway.createCheckoutSession(
      session({ stripeCustomerId: customer, stripePriceId: price }),
      "k4",
    )).id,
    created.id,
  );
  // A person pays on the page.
  const paid = await fetch(`${created.url}/pay`, { method: "POST", redirect: "manual" });
  assert.equal(paid.status, 303);
  assert.equal(paid.headers.get("location"), `https://app.example.com/paid?session=${created.id}`);
  const list = await fetch(`${simulator.url}/v1/subscriptions`, {
    headers: { authorization: "Bearer sk_test_123" },
  }).then((r) => r.json());
  const [subscription] = list.data;
  assert.deepEqual(subscription.metadata, {
    nudges_client_id: "client-1",
    nudges_plan_id: "plan-1",
    nudges_price_tier_id: "tier-1",
  });
  await gateway.cancelSubscription(subscription.id, { immediately: false }, "k5");
  const scheduled = await fetch(`${simulator.url}/v1/subscriptions/${subscription.id}`, {
    headers: { authorization: "Bearer sk_test_123" },
  }).then((r) => r.json());
  assert.equal(scheduled.cancel_at_period_end, true);
  await gateway.cancelSubscription(subscription.id, { immediately: true }, "k6");
  const ended = await fetch(`${simulator.url}/v1/subscriptions/${subscription.id}`, {
    headers: { authorization: "Bearer sk_test_123" },
  }).then((r) => r.json());
  assert.equal(ended.status, "canceled");
});
