import assert from "node:assert/strict";
import { webhookHandler } from "../../../adapters/http/webhooks.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { HANDLED_STRIPE_EVENT_TYPES } from "../../../application/shared/stripe_events.ts";
import { stripeEventStream } from "../../../application/shared/stripe_events.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import {
  API_KEY,
  charge,
  checkoutSession,
  customer,
  invoice,
  NOW,
  NOW_SECONDS,
  price,
  product,
  SECRET,
  signature,
  signedRequest,
  stripeEvent,
  subscription,
  webhookUrl,
} from "../../support/webhook_fixtures.ts";

const setup = (store: EventStore = memoryEventStore()) => ({
  store,
  handle: webhookHandler({
    store,
    secret: SECRET,
    apiKey: API_KEY,
    clock: () => NOW,
    logger: silentLogger,
  }),
});

const productCreated = () => stripeEvent("product.created", product({ id: "prod_A1" }));

/** A bad request answers `status` with a reason, and the store stays empty. */
const assertRefused = async (
  { store, handle }: ReturnType<typeof setup>,
  request: Request,
  status: number,
  reason: RegExp,
) => {
  const response = await handle(request);
  assert.equal(response.status, status);
  assert.match((await response.json()).error, reason);
  assert.deepEqual(await store.readAll(), [], "a refused request must not write anything");
};

Deno.test("webhookHandler() records a signed event of a handled type and answers 200", async () => {
  const app = setup();
  const event = productCreated();
  const response = await app.handle(await signedRequest(event));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { received: true });
  const [recorded, ...more] = await app.store.readStream(stripeEventStream(String(event.id)));
  assert.equal(more.length, 0);
  assert.equal(recorded?.type, "StripeWebhookReceived");
  assert.deepEqual(recorded?.data, {
    stripeEventId: event.id,
    stripeEventType: "product.created",
    created: event.created,
    objectId: "prod_A1",
    event,
  });
  assert.deepEqual(recorded?.metadata.cause, {
    kind: "stripe",
    stripeEventId: event.id,
    stripeEventType: "product.created",
  });
});

Deno.test("webhookHandler() answers five deliveries of one event 200 and records it once", async () => {
  const app = setup();
  const event = productCreated();
  for (let i = 0; i < 5; i++) {
    assert.equal((await app.handle(await signedRequest(event))).status, 200);
  }
  assert.equal((await app.store.readAll()).length, 1);
});

Deno.test("webhookHandler() answers 200 to a type it does not handle and records nothing", async () => {
  const app = setup();
  const event = stripeEvent("invoice.created", { id: "in_1", object: "invoice" });
  const response = await app.handle(await signedRequest(event));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { received: true, ignored: true });
  assert.deepEqual(await app.store.readAll(), []);
});

Deno.test("webhookHandler() records the contract's types, customers and delayed payments", async () => {
  const app = setup();
  const types: [string, Record<string, unknown>][] = [
    ["product.created", product()],
    ["product.updated", product()],
    ["product.deleted", product()],
    ["price.created", price()],
    ["price.updated", price()],
    ["price.deleted", price()],
    ["checkout.session.completed", checkoutSession()],
    // Additions: the owner of a customer, and the outcome of a delayed payment.
    ["customer.created", customer()],
    ["checkout.session.async_payment_succeeded", checkoutSession({ payment_status: "paid" })],
    ["checkout.session.async_payment_failed", checkoutSession()],
    // The subscription's life after the checkout.
    ["customer.updated", customer()],
    ["customer.deleted", customer()],
    ["customer.subscription.created", subscription()],
    ["customer.subscription.updated", subscription()],
    ["customer.subscription.deleted", subscription()],
    ["customer.subscription.paused", subscription()],
    ["customer.subscription.resumed", subscription()],
    ["invoice.paid", invoice()],
    ["invoice.payment_failed", invoice()],
    ["charge.refunded", charge()],
  ];
  for (const [type, object] of types) {
    const response = await app.handle(await signedRequest(stripeEvent(type, object)));
    assert.deepEqual(await response.json(), { received: true }, type);
  }
  const recorded = (await app.store.readAll()).map((e) =>
    (e.data as { stripeEventType: string }).stripeEventType
  );
  assert.deepEqual(recorded, types.map(([type]) => type));
  // What is recorded is what the consumer applies: one list.
  assert.deepEqual([...HANDLED_STRIPE_EVENT_TYPES].sort(), recorded.sort());
});

Deno.test("webhookHandler() accepts any of several v1 signatures while the secret rotates", async () => {
  const app = setup();
  const request = await signedRequest(productCreated(), {
    secrets: ["whsec_old_secret_no_longer_used", SECRET],
  });
  assert.equal((await app.handle(request)).status, 200);
  assert.equal((await app.store.readAll()).length, 1);
});

Deno.test("webhookHandler() refuses a missing or wrong code with 401", async () => {
  await assertRefused(setup(), await signedRequest(productCreated(), { code: null }), 401, /code/);
  await assertRefused(
    setup(),
    await signedRequest(productCreated(), { code: "nope" }),
    401,
    /code/,
  );
  const almost = API_KEY.slice(0, -1) + "x";
  await assertRefused(
    setup(),
    await signedRequest(productCreated(), { code: almost }),
    401,
    /code/,
  );
});

Deno.test("webhookHandler() refuses a missing, invalid or stale Stripe-Signature with 400", async () => {
  const body = JSON.stringify(productCreated());
  const post = (headers: Record<string, string>) =>
    new Request(webhookUrl(), { method: "POST", headers, body });
  await assertRefused(setup(), post({}), 400, /missing Stripe-Signature/);
  await assertRefused(setup(), post({ "stripe-signature": "garbage" }), 400, /Stripe-Signature/);
  const wrongSecret = await signature(body, { secrets: ["whsec_someone_else"] });
  await assertRefused(setup(), post({ "stripe-signature": wrongSecret }), 400, /Stripe-Signature/);
  const stale = await signature(body, { timestamp: NOW_SECONDS - 301 });
  await assertRefused(setup(), post({ "stripe-signature": stale }), 400, /tolerance/);
  const tampered = await signature(body);
  await assertRefused(
    setup(),
    new Request(webhookUrl(), {
      method: "POST",
      headers: { "stripe-signature": tampered },
      body: body.replace("T-shirt", "Free T-shirt"),
    }),
    400,
    /Stripe-Signature/,
  );
});

Deno.test("webhookHandler() still accepts a signature 300 s old", async () => {
  const app = setup();
  const request = await signedRequest(productCreated(), { timestamp: NOW_SECONDS - 300 });
  assert.equal((await app.handle(request)).status, 200);
});

Deno.test("webhookHandler() refuses malformed JSON with 400 even when signed", async () => {
  await assertRefused(setup(), await signedRequest('{"id": "evt_1", "type":'), 400, /JSON/);
});

Deno.test("webhookHandler() refuses a handled event without an object id with 400", async () => {
  const event = stripeEvent("product.updated", { object: "product", name: "no id" });
  await assertRefused(setup(), await signedRequest(event), 400, /data\.object\.id/);
});

Deno.test("webhookHandler() refuses other methods with 405", async () => {
  for (const method of ["GET", "PUT", "DELETE"]) {
    const app = setup();
    const response = await app.handle(new Request(webhookUrl(), { method }));
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    await response.body?.cancel();
    assert.deepEqual(await app.store.readAll(), []);
  }
});

Deno.test("webhookHandler() refuses a declared body over 1 MiB with 413 before reading it", async () => {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(64 * 1024));
    },
  });
  const request = new Request(webhookUrl(), {
    method: "POST",
    headers: { "content-length": String(2 * 1024 * 1024), "stripe-signature": "t=1,v1=x" },
    body,
  });
  await assertRefused(setup(), request, 413, /over 1048576 bytes/);
  assert.ok(pulled <= 1, `read ${pulled} chunks of a body it should not read`);
  await body.cancel();
});

Deno.test("webhookHandler() stops reading an undeclared body once it passes 1 MiB", async () => {
  const chunk = 64 * 1024;
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk;
      controller.enqueue(new Uint8Array(chunk).fill(0x20));
    },
  });
  const request = new Request(webhookUrl(), {
    method: "POST",
    headers: { "stripe-signature": "t=1,v1=x" },
    body: endless,
  });
  await assertRefused(setup(), request, 413, /over 1048576 bytes/);
  assert.ok(pulled <= 1024 * 1024 + 4 * chunk, `pulled ${pulled} bytes of an endless body`);
});

Deno.test("webhookHandler() accepts a body of exactly 1 MiB", async () => {
  const event = productCreated();
  const text = JSON.stringify(event);
  const padded = text.slice(0, -1) + " ".repeat(1024 * 1024 - text.length) + "}";
  assert.equal(new TextEncoder().encode(padded).byteLength, 1024 * 1024);
  const app = setup();
  assert.equal((await app.handle(await signedRequest(padded))).status, 200);
});

Deno.test("webhookHandler() answers 503 when the store cannot write, 200 once it can", async () => {
  const inner = memoryEventStore();
  let down = true;
  const store: EventStore = {
    ...inner,
    append: (...args) => down ? Promise.reject(new Error("disk full")) : inner.append(...args),
  };
  const app = setup(store);
  const event = productCreated();
  const refused = await app.handle(await signedRequest(event));
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  assert.deepEqual(await inner.readAll(), []);
  down = false;
  assert.equal((await app.handle(await signedRequest(event))).status, 200);
  assert.equal((await inner.readAll()).length, 1);
});

Deno.test("webhookHandler() keeps the code and the secret out of its logs", async () => {
  const lines: string[] = [];
  const log = (message: string, fields?: unknown) => lines.push(message + JSON.stringify(fields));
  const logger = { debug: log, info: log, warn: log, error: log, with: () => logger };
  const store = memoryEventStore();
  const handle = webhookHandler({
    store,
    secret: SECRET,
    apiKey: API_KEY,
    clock: () => NOW,
    logger,
  });
  await handle(await signedRequest(productCreated(), { code: "wrong-code-1234" }));
  await handle(await signedRequest(productCreated(), { secrets: ["whsec_wrong"] }));
  await handle(new Request(webhookUrl(), { method: "POST", body: "{}" }));
  assert.ok(lines.length >= 3);
  for (const secret of [API_KEY, SECRET, "wrong-code-1234"]) {
    assert.ok(!lines.join("\n").includes(secret), `a log line shows ${secret}`);
  }
});

Deno.test("webhookHandler() answers 404 off its path", async () => {
  const { handle } = setup();
  const response = await handle(
    new Request("http://localhost/api/Other?code=x", { method: "POST" }),
  );
  assert.equal(response.status, 404);
  await response.body?.cancel();
});
