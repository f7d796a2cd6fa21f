import assert from "node:assert/strict";
import { parseRetryAfter, stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import {
  type NewPrice,
  PermanentStripeError,
  type StripeGateway,
  TransientStripeError,
} from "../../../application/ports/stripe_gateway.ts";
import { freePort } from "../../support/process.ts";
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";
import { startStripeStandIn, type StripeStandIn } from "../../support/stripe_stand_in.ts";

const noStripeMock = skipUnlessStripeMock("the stripe SDK gateway against stripe-mock");

const price = (overrides: Partial<NewPrice> = {}): NewPrice => ({
  nudgesPriceTierId: "tier-1",
  nudgesPlanId: "plan-1",
  stripeProductId: "prod_123",
  nickname: "Monthly",
  unitAmount: 1500,
  currency: "eur",
  interval: "month",
  intervalCount: 3,
  ...overrides,
});

Deno.test({
  name: "stripeSdkGateway() makes calls that Stripe's OpenAPI spec accepts (stripe-mock)",
  ignore: noStripeMock,
  async fn() {
    const mock = await startStripeMock();
    try {
      const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: mock.url });
      const productId = await gateway.createProduct({
        nudgesPlanId: "plan-1",
        name: "Gold",
        description: "All features",
        iconUrl: "https://cdn.example.com/gold.png",
        active: true,
      }, "nudges-e1");
      assert.match(productId, /^prod_/);
      await gateway.createProduct(
        { nudgesPlanId: "plan-2", name: "Bare", description: null, iconUrl: null, active: false },
        "nudges-e2",
      );
      assert.match(
        await gateway.updateProduct(productId, { description: null, iconUrl: null }, "nudges-e3"),
        /^prod_/,
      );
      await gateway.updateProduct(productId, {
        name: "Platinum",
        description: "More",
        iconUrl: "https://cdn.example.com/p.png",
        active: false,
      }, "nudges-e4");
      assert.match(await gateway.createPrice(price(), "nudges-e5"), /^price_/);
      await gateway.createPrice(
        price({ interval: null, intervalCount: null, nickname: null }),
        "nudges-e6",
      );
      assert.match(await gateway.archivePrice("price_123", "nudges-e7"), /^price_/);
      assert.match(
        await gateway.createCustomer(
          { nudgesClientId: "client-1", name: "Ada", email: "ada@example.com" },
          "nudges-e8",
        ),
        /^cus_/,
      );
    } finally {
      await mock.stop();
    }
  },
});

Deno.test({
  name: "stripeSdkGateway() reports a request Stripe refuses as permanent, with Stripe's message",
  ignore: noStripeMock,
  async fn() {
    const mock = await startStripeMock();
    try {
      const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: mock.url });
      const refused = await gateway
        .createPrice(price({ interval: "fortnight" as "day" }), "nudges-bad")
        .catch((e) => e);
      assert.ok(refused instanceof PermanentStripeError, String(refused));
      assert.equal(refused.statusCode, 400);
      assert.match(refused.message, /interval/);
    } finally {
      await mock.stop();
    }
  },
});

const withStandIn = async (
  test: (standIn: StripeStandIn, gateway: StripeGateway) => Promise<void>,
) => {
  const standIn = startStripeStandIn();
  try {
    await test(standIn, stripeSdkGateway({ apiKey: "sk_test_123", apiBase: standIn.url }));
  } finally {
    await standIn.close();
  }
};

const customer = { nudgesClientId: "client-1", name: "Ada", email: "ada@example.com" };

Deno.test("stripeSdkGateway() sends the caller's idempotency key and makes no retries of its own", () =>
  withStandIn(async (standIn, gateway) => {
    standIn.failNext(1, { status: 500 });
    await assert.rejects(gateway.createCustomer(customer, "nudges-k1"), TransientStripeError);
    const id = await gateway.createCustomer(customer, "nudges-k1");
    assert.deepEqual(standIn.requests.map((r) => r.idempotencyKey), ["nudges-k1", "nudges-k1"]);
    assert.deepEqual([...standIn.customers.keys()], [id]);
    assert.deepEqual(standIn.customers.get(id)?.metadata, { nudges_client_id: "client-1" });
  }));

Deno.test("stripeSdkGateway() tells transient faults from refusals", () =>
  withStandIn(async (standIn, gateway) => {
    const outcome = async () => {
      try {
        await gateway.createCustomer(customer, `k-${crypto.randomUUID()}`);
        return "ok";
      } catch (error) {
        if (error instanceof TransientStripeError) {
          return `transient ${error.reason} ${error.retryAfterMs ?? "-"}`;
        }
        if (error instanceof PermanentStripeError) return `permanent ${error.message}`;
        throw error;
      }
    };
    standIn.failNext(1, { status: 503 });
    assert.equal(await outcome(), "transient server -");
    standIn.failNext(1, { status: 429, retryAfterSeconds: 2 });
    assert.equal(await outcome(), "transient rate_limited 2000");
    standIn.failNext(1, { status: 429, code: "lock_timeout" });
    assert.equal(await outcome(), "transient lock_timeout -");
    standIn.failNext(1, { drop: true });
    assert.equal(await outcome(), "transient network -");
    standIn.failNext(1, { status: 401 });
    assert.equal(await outcome(), "transient authentication -");
    standIn.failNext(1, { status: 400, message: "Invalid email address: ada" });
    assert.equal(await outcome(), "permanent Invalid email address: ada");
    assert.equal(await outcome(), "ok");
  }));

Deno.test("stripeSdkGateway() reports a network failure when nothing listens", async () => {
  const gateway = stripeSdkGateway({
    apiKey: "sk_test_123",
    apiBase: `http://127.0.0.1:${freePort()}`,
  });
  const error = await gateway.createCustomer(customer, "k").catch((e) => e);
  assert.ok(error instanceof TransientStripeError, String(error));
  assert.equal(error.reason, "network");
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates, and nothing else", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter("0.25"), 250);
  assert.equal(
    parseRetryAfter("Wed, 21 Oct 2026 07:28:05 GMT", Date.parse("2026-10-21T07:28:00Z")),
    5000,
  );
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter("-1"), undefined);
});
