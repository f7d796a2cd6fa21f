import assert from "node:assert/strict";
import Stripe from "stripe";
import { startStripeSimulator, type StripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import shapes from "../../support/fixtures/stripe_objects.json" with { type: "json" };
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";

const KEY = "sk_test_simulator";
const SECRET = "whsec_test_simulator";
const crypto = Stripe.createSubtleCryptoProvider();

const sdk = (url: string, key = KEY) => {
  const base = new URL(url);
  return new Stripe(key, {
    httpClient: Stripe.createFetchHttpClient(),
    host: base.hostname,
    port: Number(base.port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
};

const eventually = async <T>(what: string, probe: () => T | undefined): Promise<T> => {
  for (let i = 0; i < 500; i++) {
    const found = probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
};

/** A webhook endpoint that verifies signatures as Nudges does; answers `statuses` first. */
const startReceiver = (statuses: number[] = []) => {
  const events: Stripe.Event[] = [];
  const refused: string[] = [];
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    calls++;
    const body = await req.text();
    const status = statuses.shift() ?? 200;
    if (status !== 200) return new Response(null, { status });
    try {
      const signature = req.headers.get("stripe-signature") ?? "";
      events.push(
        await sdk("http://127.0.0.1:1").webhooks.constructEventAsync(
          body,
          signature,
          SECRET,
          300,
          crypto,
        ),
      );
      return new Response(null, { status: 200 });
    } catch (error) {
      refused.push((error as Error).message);
      return new Response(null, { status: 400 });
    }
  });
  return {
    target: {
      url: `http://127.0.0.1:${server.addr.port}/api/StripeWebhookHandler?code=secret-code`,
      secret: SECRET,
    },
    events,
    refused,
    calls: () => calls,
    event: (type: string, objectId: string) =>
      eventually(
        `${type} of ${objectId}`,
        () =>
          events.find((e) => e.type === type && (e.data.object as { id: string }).id === objectId),
      ),
    close: () => server.shutdown(),
  };
};

const withSimulator = async (
  run: (simulator: StripeSimulator, stripe: Stripe) => Promise<void>,
  options: Parameters<typeof startStripeSimulator>[0] = {},
) => {
  await using simulator = startStripeSimulator({ retry: { firstDelayMs: 10 }, ...options });
  await run(simulator, sdk(simulator.url));
};

const missingKeys = (expected: object, actual: object) =>
  Object.keys(expected).filter((key) => !(key in actual));

Deno.test("products: created, changed, archived and read back in Stripe's shape", () =>
  withSimulator(async (_, stripe) => {
    const product = await stripe.products.create({
      name: "Gold",
      description: "All of it",
      images: ["https://example.com/gold.png"],
      metadata: { nudges_plan_id: "plan-1" },
    });
    assert.match(product.id, /^prod_/);
    assert.deepEqual(missingKeys(shapes.product, product), []);
    assert.deepEqual(
      [product.name, product.description, product.images, product.metadata, product.active],
      ["Gold", "All of it", ["https://example.com/gold.png"], { nudges_plan_id: "plan-1" }, true],
    );

    // What the SDK gateway sends to clear fields: empty strings.
    await stripe.products.update(product.id, {
      description: "",
      images: "",
      active: false,
      metadata: { extra: "1" },
    });
    const read = await stripe.products.retrieve(product.id);
    assert.deepEqual(
      [read.description, read.images, read.active, read.metadata],
      [null, [], false, { nudges_plan_id: "plan-1", extra: "1" }],
    );

    await assert.rejects(stripe.products.retrieve("prod_nope"), {
      statusCode: 404,
      code: "resource_missing",
      message: "No such product: 'prod_nope'",
    });
  }));

Deno.test("prices and customers: created, archived and read back in Stripe's shape", () =>
  withSimulator(async (_, stripe) => {
    const product = await stripe.products.create({ name: "Gold" });
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: 1500,
      currency: "EUR",
      recurring: { interval: "month", interval_count: 3 },
      metadata: { nudges_price_tier_id: "tier-1", nudges_plan_id: "plan-1" },
    });
    assert.deepEqual(missingKeys(shapes.price, price), []);
    assert.deepEqual(
      [
        price.unit_amount,
        String(price.unit_amount_decimal),
        price.currency,
        price.type,
        price.product,
      ],
      [1500, "1500", "eur", "recurring", product.id],
    );
    assert.deepEqual([price.recurring?.interval, price.recurring?.interval_count], ["month", 3]);

    await stripe.prices.update(price.id, { active: false });
    assert.equal((await stripe.prices.retrieve(price.id)).active, false);
    // Stripe prices are immutable in amount: so here.
    await assert.rejects(
      stripe.prices.update(price.id, { unit_amount: 1 } as Stripe.PriceUpdateParams),
      { statusCode: 400, message: "Received unknown parameter: unit_amount" },
    );

    const customer = await stripe.customers.create({
      name: "Ada",
      email: "ada@example.com",
      metadata: { nudges_client_id: "client-1" },
    });
    assert.deepEqual(missingKeys(shapes.customer, customer), []);
    const readCustomer = await stripe.customers.retrieve(customer.id) as Stripe.Customer;
    assert.deepEqual([readCustomer.name, readCustomer.email], ["Ada", "ada@example.com"]);
  }));

Deno.test("the SDK gateway (adapters/stripe/sdk.ts) works against the simulator", () =>
  withSimulator(async (simulator, stripe) => {
    const gateway = stripeSdkGateway({ apiKey: KEY, apiBase: simulator.url });
    const productId = await gateway.createProduct({
      nudgesPlanId: "plan-1",
      name: "Gold",
      description: null,
      iconUrl: "https://example.com/i.png",
      active: true,
    }, "plan-1-created");
    await gateway.updateProduct(productId, { iconUrl: null, name: "Platinum" }, "plan-1-v2");
    const priceId = await gateway.createPrice({
      nudgesPriceTierId: "tier-1",
      nudgesPlanId: "plan-1",
      stripeProductId: productId,
      nickname: "Monthly",
      unitAmount: 999,
      currency: "usd",
      interval: "month",
      intervalCount: 1,
    }, "tier-1-created");
    await gateway.archivePrice(priceId, "tier-1-deleted");
    const customerId = await gateway.createCustomer(
      { nudgesClientId: "client-1", name: "Ada", email: "ada@example.com" },
      "client-1-created",
    );

    const product = await stripe.products.retrieve(productId);
    assert.deepEqual([product.name, product.images], ["Platinum", []]);
    const price = await stripe.prices.retrieve(priceId);
    assert.deepEqual([price.nickname, price.active, price.product], ["Monthly", false, productId]);
    const customer = await stripe.customers.retrieve(customerId) as Stripe.Customer;
    assert.deepEqual(customer.metadata, { nudges_client_id: "client-1" });
  }));

Deno.test("a repeated idempotency key gets the first answer again and creates nothing", () =>
  withSimulator(async (_, stripe) => {
    const params = { name: "Gold", metadata: { nudges_plan_id: "plan-1" } };
    const first = await stripe.products.create(params, { idempotencyKey: "plan-1-created" });
    const again = await stripe.products.create(params, { idempotencyKey: "plan-1-created" });
    assert.equal(again.id, first.id);
    const headers = new Headers(again.lastResponse.headers as HeadersInit);
    assert.equal(headers.get("idempotent-replayed"), "true");
    assert.equal((await stripe.products.list()).data.length, 1);

    await assert.rejects(
      stripe.products.create({ name: "Other" }, { idempotencyKey: "plan-1-created" }),
      { statusCode: 400, type: "StripeIdempotencyError" },
    );
    assert.equal((await stripe.products.list()).data.length, 1);
  }));

Deno.test("bad parameters get Stripe's 400, naming the parameter, and change nothing", () =>
  withSimulator(async (_, stripe) => {
    const product = await stripe.products.create({ name: "Gold" });
    const refusals: [Promise<unknown>, string, string][] = [
      [
        stripe.products.create({} as Stripe.ProductCreateParams),
        "name",
        "Missing required param: name.",
      ],
      [
        stripe.prices.create({ product: product.id, unit_amount: 100, currency: "zzz" }),
        "currency",
        "Invalid currency: zzz",
      ],
      [
        stripe.prices.create({ product: product.id, unit_amount: 1.5, currency: "usd" }),
        "unit_amount",
        "Invalid non-negative integer: 1.5",
      ],
      [
        stripe.prices.create({ product: "prod_nope", unit_amount: 100, currency: "usd" }),
        "product",
        "No such product: 'prod_nope'",
      ],
      [
        stripe.products.update(product.id, { colour: "red" } as Stripe.ProductUpdateParams),
        "colour",
        "Received unknown parameter: colour",
      ],
    ];
    for (const [request, param, message] of refusals) {
      await assert.rejects(request, (error: Stripe.errors.StripeError) => {
        assert.equal(error.type, "StripeInvalidRequestError");
        assert.equal(error.param, param);
        assert.equal(error.message, message);
        return true;
      });
    }
    assert.equal((await stripe.prices.list()).data.length, 0);
    assert.equal((await stripe.products.retrieve(product.id)).updated, product.updated);
  }));

Deno.test("requests without a test-mode key get 401, unknown routes Stripe's 404", () =>
  withSimulator(async (simulator) => {
    await assert.rejects(sdk(simulator.url, "sk_live_abc").products.list(), { statusCode: 401 });
    const noKey = await fetch(`${simulator.url}/v1/products`, { method: "POST", body: "name=x" });
    assert.equal(noKey.status, 401);
    assert.equal((await noKey.json()).error.type, "invalid_request_error");

    const unknown = await fetch(`${simulator.url}/v1/widgets`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), {
      error: {
        type: "invalid_request_error",
        message:
          "Unrecognized request URL (GET: /v1/widgets). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
      },
    });
  }));

Deno.test("every change is posted as a signed event naming the request that made it", async () => {
  const receiver = startReceiver();
  try {
    await withSimulator(async (_, stripe) => {
      const product = await stripe.products.create({ name: "Gold" }, { idempotencyKey: "k-1" });
      await stripe.products.update(product.id, { active: false }, { idempotencyKey: "k-2" });
      const price = await stripe.prices.create({
        product: product.id,
        unit_amount: 100,
        currency: "usd",
      });
      const customer = await stripe.customers.create({ email: "ada@example.com" });

      const created = await receiver.event("product.created", product.id);
      assert.deepEqual(created.request, {
        id: product.lastResponse.requestId,
        idempotency_key: "k-1",
      });
      assert.ok(Number.isInteger(created.created));
      assert.equal(created.livemode, false);
      const updated = await receiver.event("product.updated", product.id);
      assert.equal(updated.request?.idempotency_key, "k-2");
      assert.deepEqual((updated.data.object as Stripe.Product).active, false);
      assert.equal((updated.data.previous_attributes as Partial<Stripe.Product>).active, true);
      // The SDK keys every POST itself when the caller does not.
      const priceCreated = await receiver.event("price.created", price.id);
      assert.match(priceCreated.request?.idempotency_key ?? "", /^stripe-node-retry-/);
      await receiver.event("customer.created", customer.id);
      assert.deepEqual(receiver.refused, []);
    }, { webhook: receiver.target });
  } finally {
    await receiver.close();
  }
});

Deno.test("an event the endpoint answers with 500 is delivered again until it gets 2xx", async () => {
  const receiver = startReceiver([500, 503]);
  try {
    await withSimulator(async (simulator, stripe) => {
      const product = await stripe.products.create({ name: "Gold" });
      await receiver.event("product.created", product.id);
      assert.equal(receiver.calls(), 3);
      await eventually("no pending webhook", () => simulator.pendingWebhooks() === 0 || undefined);
    }, { webhook: receiver.target });
  } finally {
    await receiver.close();
  }
});

Deno.test("completeCheckout() stores a paid session and sends checkout.session.completed", async () => {
  const receiver = startReceiver();
  try {
    await withSimulator(async (simulator, stripe) => {
      const product = await stripe.products.create({ name: "Gold" });
      const price = await stripe.prices.create({
        product: product.id,
        unit_amount: 1500,
        currency: "usd",
        recurring: { interval: "month" },
        metadata: { nudges_price_tier_id: "tier-1", nudges_plan_id: "plan-1" },
      });
      const customer = await stripe.customers.create({ metadata: { nudges_client_id: "c-1" } });

      // Over HTTP, as `deno task checkout` does.
      const answer = await fetch(`${simulator.url}/dev/checkout_sessions/complete`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ clientId: "c-1", priceTierId: "tier-1", planId: "plan-1" }),
      });
      assert.equal(answer.status, 200);
      const session = await answer.json();
      const event = await receiver.event("checkout.session.completed", session.id);
      const sent = event.data.object as Stripe.Checkout.Session;
      assert.deepEqual(
        [sent.client_reference_id, sent.metadata, sent.mode, sent.status, sent.payment_status],
        [
          "c-1",
          { nudges_client_id: "c-1", nudges_plan_id: "plan-1", nudges_price_tier_id: "tier-1" },
          "subscription",
          "complete",
          "paid",
        ],
      );
      assert.deepEqual([sent.amount_total, sent.currency, sent.customer], [
        1500,
        "usd",
        customer.id,
      ]);
      assert.match(String(sent.subscription), /^sub_/);
      assert.deepEqual(event.request, { id: null, idempotency_key: null });
      assert.equal((await stripe.checkout.sessions.retrieve(session.id)).status, "complete");
      assert.equal(price.id, (await stripe.prices.list({ active: true })).data[0]?.id);

      // Called directly; a tier the simulator has no price for is refused.
      const unpaid = await simulator.completeCheckout({
        clientId: "c-2",
        priceTierId: "tier-1",
        paymentStatus: "unpaid",
      });
      assert.equal(unpaid.payment_status, "unpaid");
      assert.match(String(unpaid.customer), /^cus_/);
      await receiver.event("checkout.session.completed", unpaid.id);
      await assert.rejects(
        simulator.completeCheckout({ clientId: "c-1", priceTierId: "tier-9" }),
        /nudges_price_tier_id 'tier-9'/,
      );
    }, { webhook: receiver.target });
  } finally {
    await receiver.close();
  }
});

Deno.test("a restart on the same file keeps objects, idempotent answers and undelivered events", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/stripe/simulator.sqlite`;
  const receiver = startReceiver();
  try {
    let productId = "";
    // First run: no webhook endpoint yet, so the event waits.
    await withSimulator(async (simulator, stripe) => {
      productId = (await stripe.products.create({ name: "Gold" }, { idempotencyKey: "k" })).id;
      assert.equal(simulator.pendingWebhooks(), 1);
    }, { path });
    await withSimulator(async (_, stripe) => {
      assert.equal((await stripe.products.retrieve(productId)).name, "Gold");
      const again = await stripe.products.create({ name: "Gold" }, { idempotencyKey: "k" });
      assert.equal(again.id, productId);
      const event = await receiver.event("product.created", productId);
      assert.equal(event.request?.idempotency_key, "k");
    }, { path, webhook: receiver.target });
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "the simulator accepts and refuses what stripe-mock does, with at least its fields",
  ignore: skipUnlessStripeMock("the stripe-mock comparison of the Stripe simulator"),
  fn: async () => {
    const mock = await startStripeMock();
    try {
      await withSimulator(async (simulator) => {
        const both = async (call: (stripe: Stripe) => Promise<unknown>) =>
          await Promise.all([sdk(simulator.url), sdk(mock.url)].map((stripe) =>
            call(stripe).then(
              (value) => ({ ok: true, value: value as object }),
              (error) => ({ ok: false, value: { status: error.statusCode } }),
            )
          ));
        const cases: [string, (stripe: Stripe) => Promise<unknown>][] = [
          [
            "product",
            (s) =>
              s.products.create({
                name: "Gold",
                images: ["https://e.com/i.png"],
                metadata: { a: "b" },
              }),
          ],
          ["price", async (s) =>
            s.prices.create({
              product: (await s.products.create({ name: "Gold" })).id,
              unit_amount: 100,
              currency: "usd",
              recurring: { interval: "month", interval_count: 1 },
            })],
          ["customer", (s) => s.customers.create({ email: "a@example.com", name: "Ada" })],
          ["checkout session", async (s) => {
            const product = await s.products.create({ name: "Gold" });
            const price = await s.prices.create({
              product: product.id,
              unit_amount: 100,
              currency: "usd",
              recurring: { interval: "month" },
            });
            return s.checkout.sessions.create({
              mode: "subscription",
              line_items: [{ price: price.id, quantity: 1 }],
              success_url: "https://example.com/ok",
              client_reference_id: "c-1",
              metadata: { nudges_plan_id: "p" },
            });
          }],
          [
            "non-integer amount",
            (s) => s.prices.create({ product: "prod_x", unit_amount: 1.5, currency: "usd" }),
          ],
          [
            "unknown parameter",
            (s) => s.products.create({ name: "x", colour: "red" } as Stripe.ProductCreateParams),
          ],
        ];
        for (const [name, call] of cases) {
          const [ours, theirs] = await both(call);
          assert.equal(ours!.ok, theirs!.ok, name);
          if (ours!.ok) assert.deepEqual(missingKeys(theirs!.value, ours!.value), [], name);
        }
      });
    } finally {
      await mock.stop();
    }
  },
});
