// The process's Stripe rate limit: one bucket per key, shared by every gateway, held by a 429.
// Only lower bounds on time are asserted: a busy machine can only make them longer.
import assert from "node:assert/strict";
import { sharedRateLimiter, tokenBucket } from "../../../adapters/stripe/rate_limiter.ts";
import { resilientGateway } from "../../../adapters/stripe/resilience.ts";
import {
  type StripeGateway,
  TransientStripeError,
} from "../../../application/ports/stripe_gateway.ts";

/** A gateway whose createCustomer records when each call started, and fails as `fail` says. */
const timed = (fail: (call: number) => Error | null = () => null) => {
  const starts: number[] = [];
  const answer = () => {
    starts.push(performance.now());
    const error = fail(starts.length);
    return error ? Promise.reject(error) : Promise.resolve("ok");
  };
  // Only createCustomer is called; the wrapper wraps whatever methods there are.
  const gateway = { createCustomer: answer } as Partial<StripeGateway> as StripeGateway;
  return { gateway, starts };
};

const customer = { nudgesClientId: "c1", name: "Ada", email: "ada@example.com" };

Deno.test("sharedRateLimiter() gives every gateway of one key the same bucket", async () => {
  const key = `sk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const a = timed();
  const b = timed();
  const first = resilientGateway(a.gateway, { limiter: sharedRateLimiter(key, 20) });
  const second = resilientGateway(b.gateway, { limiter: sharedRateLimiter(key, 20) });
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        first.gateway.createCustomer(customer, `a-${i}`),
        second.gateway.createCustomer(customer, `b-${i}`),
      ]).flat(),
    );
    // 20 calls at 20 a second with a burst of 2: the last starts after 0.9 s. Two buckets
    // of their own would have let both gateways' last calls start after 0.4 s.
    const last = Math.max(...a.starts, ...b.starts) - started;
    assert.ok(last >= 850, `the last call started after ${last.toFixed(0)} ms`);
    assert.equal(sharedRateLimiter(key, 50).perSecond, 20, "the first rate stands");
  } finally {
    first.dispose();
    second.dispose();
  }
});

Deno.test("a 429 holds every caller of the bucket for as long as Stripe asked", async () => {
  const limiter = tokenBucket(1000);
  const limited = timed((call) =>
    call === 1 ? new TransientStripeError("slow down", "rate_limited", 400) : null
  );
  const other = timed();
  const first = resilientGateway(limited.gateway, { limiter, initialDelayMs: 1 });
  const second = resilientGateway(other.gateway, { limiter });
  try {
    const started = performance.now();
    const retried = first.gateway.createCustomer(customer, "k1");
    await new Promise((resolve) => setTimeout(resolve, 50)); // the 429 has come back
    await second.gateway.createCustomer(customer, "k2");
    const waited = other.starts[0]! - started;
    assert.ok(waited >= 390, `the other gateway's call started after ${waited.toFixed(0)} ms`);
    assert.equal(await retried, "ok");
    assert.ok(limited.starts[1]! - started >= 390, "the retry waited for Retry-After too");
  } finally {
    first.dispose();
    second.dispose();
  }
});

Deno.test("tokenBucket() refuses a rate that is not a positive number", () => {
  for (const rate of [0, -5, Number.NaN, Infinity]) {
    assert.throws(() => tokenBucket(rate), /positive number of calls a second/);
  }
});
