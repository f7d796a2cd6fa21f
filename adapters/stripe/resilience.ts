/**
 * Transient Stripe faults, handled with cockatiel: each call is retried (3 attempts in all,
 * exponential backoff, at least as long as a 429's Retry-After) inside a circuit breaker
 * that opens after 5 consecutive failed calls and lets one trial call through after a
 * cooldown. Permanent refusals pass straight through. An optional rate limiter (the
 * process's one token bucket, rate_limiter.ts) spaces calls out so that a burst of work
 * stays under Stripe's rate limit instead of collecting 429s; a 429 holds it as long as
 * Stripe asked.
 * @module
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  type IBackoff,
  type IRetryBackoffContext,
  retry,
} from "cockatiel";
import type { Metrics } from "../../application/ports/metrics.ts";
import {
  type CircuitState as State,
  type StripeCircuit,
  type StripeGateway,
  StripeUnavailableError,
  TransientStripeError,
} from "../../application/ports/stripe_gateway.ts";
import { type RateLimiter, tokenBucket } from "./rate_limiter.ts";

export { stripeRateLimit } from "./rate_limiter.ts";

export type ResilienceOptions = {
  /** Calls in all, the first included (default 3). */
  attempts?: number;
  /** First backoff (default 200 ms), doubled at each retry, with jitter. */
  initialDelayMs?: number;
  /** Longest single wait, Retry-After included (default 10 s). */
  maxDelayMs?: number;
  /** Consecutive failed calls that open the breaker (default 5). */
  consecutiveFailures?: number;
  /** How long the breaker stays open before a trial call (default 30 s). */
  halfOpenAfterMs?: number;
  /**
   * The client-side throttle: a bucket shared with the process's other gateways
   * (sharedRateLimiter), or a rate for a bucket of this gateway's own; none by default.
   */
  limiter?: RateLimiter | null;
  requestsPerSecond?: number | null;
  metrics?: Metrics;
  /** Told of each retry before its backoff: for logs, and for tests of the backoff. */
  onRetry?: (retry: { attempt: number; delayMs: number; error: unknown }) => void;
};

/** `G`: the calls wrapped, StripeGateway's or more of the port's (StripeApi). */
export type ResilientStripe<G = StripeGateway> = {
  gateway: G;
  circuit: StripeCircuit;
  dispose(): void;
};

// Rate limits and lock timeouts mean Stripe is up and answering: they are retried but
// do not count towards opening the breaker.
const countsAsOutage = (error: Error) =>
  error instanceof TransientStripeError &&
  ["network", "server", "authentication"].includes(error.reason);

const retryable = (error: Error) =>
  error instanceof TransientStripeError && !(error instanceof StripeUnavailableError);

const STATE_NAMES: Record<CircuitState, State> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "open",
};
const STATE_VALUES: Record<State, number> = { closed: 0, open: 1, "half-open": 2 };

export const resilientGateway = <G extends object = StripeGateway>(
  inner: G,
  options: ResilienceOptions = {},
): ResilientStripe<G> => {
  const {
    attempts = 3,
    initialDelayMs = 200,
    maxDelayMs = 10_000,
    consecutiveFailures = 5,
    halfOpenAfterMs = 30_000,
    metrics,
  } = options;
  const limiter = options.limiter ??
    (options.requestsPerSecond ? tokenBucket(options.requestsPerSecond) : null);

  const delayFor = (context: IRetryBackoffContext<unknown>): number => {
    const exponential = initialDelayMs * 2 ** (context.attempt - 1) * (0.5 + Math.random() / 2);
    const error = "error" in context.result ? context.result.error : undefined;
    const asked = error instanceof TransientStripeError ? error.retryAfterMs ?? 0 : 0;
    return Math.min(maxDelayMs, Math.max(exponential, asked));
  };
  const backoffOf = (duration: number): IBackoff<IRetryBackoffContext<unknown>> => ({
    duration,
    next: (context) => backoffOf(delayFor(context)),
  });
  const retries = retry(handleWhen(retryable), {
    maxAttempts: attempts - 1,
    backoff: { next: (context) => backoffOf(delayFor(context)) },
  });
  const breaker = circuitBreaker(handleWhen(countsAsOutage), {
    breaker: new ConsecutiveBreaker(consecutiveFailures),
    halfOpenAfter: halfOpenAfterMs,
  });

  let openedAt = 0;
  const stateGauge = metrics?.gauge(
    "stripe_circuit_state",
    "The Stripe circuit breaker: 0 closed, 1 open (calls paused), 2 half-open (trial call).",
  );
  const calls = metrics?.counter("stripe_calls_total", "Stripe calls by operation and outcome.");
  const retried = metrics?.counter("stripe_retries_total", "Stripe calls retried, by reason.");
  const seconds = metrics?.histogram(
    "stripe_call_duration_seconds",
    "Duration of single Stripe calls, retries not included.",
  );
  stateGauge?.set(0);
  const subscriptions = [
    breaker.onBreak(() => openedAt = Date.now()),
    breaker.onStateChange((state) => stateGauge?.set(STATE_VALUES[STATE_NAMES[state]])),
    retries.onRetry((event) => {
      const error = "error" in event ? event.error : undefined;
      retried?.inc({ reason: error instanceof TransientStripeError ? error.reason : "other" });
      options.onRetry?.({ attempt: event.attempt, delayMs: event.delay, error });
    }),
  ];

  const guarded = <A extends unknown[], R>(
    operation: string,
    call: (...args: A) => Promise<R>,
  ) =>
  (...args: A): Promise<R> =>
    retries.execute(async () => {
      try {
        return await breaker.execute(async () => {
          await limiter?.take();
          const started = performance.now();
          try {
            const answer = await call(...args);
            calls?.inc({ operation, outcome: "ok" });
            return answer;
          } catch (error) {
            const outcome = error instanceof TransientStripeError ? "transient" : "permanent";
            calls?.inc({ operation, outcome });
            if (error instanceof TransientStripeError && error.reason === "rate_limited") {
              limiter?.holdFor(error.retryAfterMs ?? 1000);
            }
            throw error;
          } finally {
            seconds?.observe((performance.now() - started) / 1000, { operation });
          }
        });
      } catch (error) {
        if (!(error instanceof BrokenCircuitError)) throw error;
        calls?.inc({ operation, outcome: "rejected" });
        throw new StripeUnavailableError(Math.max(1, openedAt + halfOpenAfterMs - Date.now()));
      }
    });

  const listen =
    (event: typeof breaker.onBreak | typeof breaker.onReset) =>
    (listener: (cooldownMs: number) => void) => {
      const subscription = event(() => listener(halfOpenAfterMs));
      return () => subscription.dispose();
    };

  return {
    // Every call of the port, each under its own name in the metrics.
    gateway: Object.fromEntries(
      (Object.keys(inner) as (keyof G & string)[]).map((operation) => [
        operation,
        guarded(
          operation,
          (...args: unknown[]) =>
            (inner[operation] as (...args: unknown[]) => Promise<unknown>).apply(inner, args),
        ),
      ]),
    ) as G,
    circuit: {
      state: () => STATE_NAMES[breaker.state],
      onBreak: listen(breaker.onBreak),
      onReset: listen(breaker.onReset),
    },
    dispose: () => subscriptions.forEach((s) => s.dispose()),
  };
};
