import assert from "node:assert/strict";
import {
  type ResilienceOptions,
  resilientGateway,
  stripeRateLimit,
} from "../../../adapters/stripe/resilience.ts";
import { prometheusRegistry } from "../../../adapters/observability/prometheus.ts";
import {
  PermanentStripeError,
  type StripeGateway,
  StripeUnavailableError,
  TransientStripeError,
} from "../../../application/ports/stripe_gateway.ts";

type Outcome = "ok" | Error;

/** A gateway whose createCustomer answers from a script, then "ok"; it records the keys. */
const scripted = (...script: Outcome[]) => {
  const keys: string[] = [];
  const answer = (key: string) => {
    keys.push(key);
    const next = script.shift() ?? "ok";
    return next === "ok" ? Promise.resolve(`cus_${keys.length}`) : Promise.reject(next);
  };
  const gateway: StripeGateway = {
    createProduct: (_p, key) => answer(key),
    updateProduct: (_id, _c, key) => answer(key),
    createPrice: (_p, key) => answer(key),
    archivePrice: (_id, key) => answer(key),
    createCustomer: (_c, key) => answer(key),
    updateCustomer: (_id, _c, key) => answer(key),
    createCheckoutSession: (_s, key) => answer(key).then((id) => ({ id, url: "" })),
    listCheckoutLineItems: () => answer("list").then(() => []),
    cancelSubscription: (_id, _o, key) => answer(key),
  };
  return { gateway, keys };
};

const serverError = () => new TransientStripeError("boom", "server");
const customer = { nudgesClientId: "c1", name: "Ada", email: "ada@example.com" };
const fast: ResilienceOptions = { initialDelayMs: 1, halfOpenAfterMs: 30 };

/**
 * Date.now(), which the breaker times its cooldown by, under the test's control until
 * disposed: time moves only by advance().
 */
const controlledNow = () => {
  const real = Date.now;
  let now = real();
  Date.now = () => now;
  return {
    advance: (ms: number) => void (now += ms),
    [Symbol.dispose]: () => void (Date.now = real),
  };
};

const resilient = (gateway: StripeGateway, options: ResilienceOptions = {}) => {
  const r = resilientGateway(gateway, { ...fast, ...options });
  return { ...r, [Symbol.dispose]: r.dispose };
};

Deno.test("resilientGateway() retries transient faults with the same idempotency key", async () => {
  const stripe = scripted(serverError(), new TransientStripeError("reset", "network"));
  using r = resilient(stripe.gateway);
  assert.equal(await r.gateway.createCustomer(customer, "nudges-e1"), "cus_3");
  assert.deepEqual(stripe.keys, ["nudges-e1", "nudges-e1", "nudges-e1"]);
});

Deno.test("resilientGateway() gives up after three attempts with the transient fault", async () => {
  const stripe = scripted(serverError(), serverError(), serverError(), "ok");
  using r = resilient(stripe.gateway);
  await assert.rejects(r.gateway.createCustomer(customer, "k"), TransientStripeError);
  assert.equal(stripe.keys.length, 3);
});

Deno.test("resilientGateway() does not retry a refusal", async () => {
  const stripe = scripted(new PermanentStripeError("Invalid currency: xyz", undefined, 400));
  using r = resilient(stripe.gateway);
  await assert.rejects(r.gateway.createCustomer(customer, "k"), /Invalid currency: xyz/);
  assert.equal(stripe.keys.length, 1);
});

Deno.test("resilientGateway() waits at least as long as a 429's Retry-After", async () => {
  const stripe = scripted(new TransientStripeError("slow down", "rate_limited", 40));
  const delays: number[] = [];
  using r = resilient(stripe.gateway, { onRetry: ({ delayMs }) => delays.push(delayMs) });
  await r.gateway.createCustomer(customer, "k");
  assert.equal(delays.length, 1);
  assert.ok(delays[0]! >= 40, `waited ${delays[0]} ms`);
});

Deno.test("resilientGateway() opens after five failed calls and calls nothing while open", async () => {
  const stripe = scripted(...Array.from({ length: 5 }, serverError));
  const metrics = prometheusRegistry();
  using r = resilient(stripe.gateway, { halfOpenAfterMs: 60_000, metrics });
  const breaks: number[] = [];
  r.circuit.onBreak((cooldownMs) => breaks.push(cooldownMs));
  await assert.rejects(r.gateway.createCustomer(customer, "a"), TransientStripeError);
  assert.equal(r.circuit.state(), "closed");
  // Calls 4 and 5 fail; the third attempt finds the breaker open.
  await assert.rejects(r.gateway.createCustomer(customer, "b"), StripeUnavailableError);
  assert.equal(r.circuit.state(), "open");
  assert.deepEqual(breaks, [60_000]);
  const refused = await r.gateway.createPrice({} as never, "c").catch((e) => e);
  assert.ok(refused instanceof StripeUnavailableError);
  assert.ok(refused.retryAfterMs! > 0 && refused.retryAfterMs! <= 60_000);
  assert.equal(stripe.keys.length, 5);
  assert.match(metrics.render(), /^stripe_circuit_state 1$/m);
  assert.match(
    metrics.render(),
    /stripe_calls_total\{operation="createPrice",outcome="rejected"\} 1/,
  );
});

Deno.test("resilientGateway() lets one trial call through after the cooldown", async () => {
  // The breaker moves from open to half-open only when a call comes after the cooldown, so
  // there is no state change to wait for: the test moves the clock past the cooldown instead.
  using clock = controlledNow();
  const stripe = scripted(...Array.from({ length: 6 }, serverError));
  using r = resilient(stripe.gateway, { attempts: 1, halfOpenAfterMs: 30_000 });
  const events: string[] = [];
  r.circuit.onBreak((cooldownMs) => events.push(`break ${cooldownMs}`));
  r.circuit.onReset(() => events.push("reset"));
  for (const key of ["1", "2", "3", "4", "5"]) {
    await assert.rejects(r.gateway.createCustomer(customer, key), TransientStripeError);
  }
  assert.equal(r.circuit.state(), "open");
  assert.deepEqual(events, ["break 30000"]);
  clock.advance(29_000);
  const early = await r.gateway.createCustomer(customer, "early").catch((e) => e);
  assert.ok(early instanceof StripeUnavailableError, "refused before the cooldown ends");
  assert.equal(early.retryAfterMs, 1_000);
  clock.advance(1_000);
  // The trial fails (the sixth scripted fault): open again, for another cooldown.
  await assert.rejects(r.gateway.createCustomer(customer, "6"), TransientStripeError);
  assert.equal(r.circuit.state(), "open");
  assert.deepEqual(events, ["break 30000", "break 30000"]);
  await assert.rejects(r.gateway.createCustomer(customer, "7"), StripeUnavailableError);
  clock.advance(30_000);
  assert.equal(await r.gateway.createCustomer(customer, "8"), "cus_7");
  assert.equal(r.circuit.state(), "closed");
  assert.deepEqual(events, ["break 30000", "break 30000", "reset"]);
  assert.deepEqual(stripe.keys, ["1", "2", "3", "4", "5", "6", "8"]);
});

Deno.test("resilientGateway() keeps the breaker closed through rate limits and refusals", async () => {
  const limited = () => new TransientStripeError("slow down", "rate_limited", 1);
  const locked = () => new TransientStripeError("locked", "lock_timeout");
  const refused = () => new PermanentStripeError("No such price", "resource_missing", 404);
  const stripe = scripted(
    ...Array.from({ length: 3 }, limited),
    ...Array.from({ length: 3 }, locked),
    ...Array.from({ length: 5 }, refused),
  );
  using r = resilient(stripe.gateway);
  await assert.rejects(r.gateway.createCustomer(customer, "a"), TransientStripeError);
  await assert.rejects(r.gateway.createCustomer(customer, "b"), TransientStripeError);
  for (const key of ["c", "d", "e", "f", "g"]) {
    await assert.rejects(r.gateway.archivePrice("price_1", key), PermanentStripeError);
  }
  assert.equal(r.circuit.state(), "closed");
  assert.equal(await r.gateway.createCustomer(customer, "h"), "cus_12");
});

Deno.test("stripeRateLimit() is Stripe's limit for the key's mode", () => {
  assert.equal(stripeRateLimit("sk_live_abc"), 100);
  assert.equal(stripeRateLimit("rk_live_abc"), 100);
  assert.equal(stripeRateLimit("sk_test_abc"), 25);
});
