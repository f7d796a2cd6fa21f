/**
 * Stripe's rate limit, kept on our side so that a burst of work waits instead of drawing
 * 429s. Stripe counts an account's requests whoever makes them, so a process has one
 * token bucket per API key, shared by every gateway made for that key (each outbound
 * consumer, the inbound side, a reconcile run): `sharedRateLimiter`. A 429 that does get
 * through holds the whole bucket for as long as Stripe asked, not just the call that met it.
 * @module
 */

export type RateLimiter = {
  /** Resolves when the next call may start; calls are served in the order they asked. */
  take(): Promise<void>;
  /** Starts no call for `ms` (Stripe said to wait): every caller waits, not only the one told. */
  holdFor(ms: number): void;
  readonly perSecond: number;
};

/**
 * A token bucket: `perSecond` calls a second on average, in bursts of a tenth of a
 * second's worth at most, so a moment without work does not waste the slots after it but
 * no burst goes over what Stripe's own bucket takes.
 */
export const tokenBucket = (perSecond: number): RateLimiter => {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) {
    throw new RangeError(
      `a rate limit must be a positive number of calls a second, got ${perSecond}`,
    );
  }
  const spacing = 1000 / perSecond;
  const burst = Math.max(1, Math.floor(perSecond / 10)) * spacing;
  // The time the next call may start; it never lags the clock by more than a burst.
  let next = 0;
  let heldUntil = 0;
  const reserve = () => {
    const now = performance.now();
    const at = Math.max(now - burst + spacing, next, heldUntil);
    next = at + spacing;
    return at - now;
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return {
    perSecond,
    take: async () => {
      for (;;) {
        const wait = reserve();
        if (wait > 0) await sleep(wait);
        // A hold that came while this call waited for its turn moves it past the hold too.
        if (performance.now() + 1 >= heldUntil) return;
      }
    },
    holdFor: (ms) => {
      heldUntil = Math.max(heldUntil, performance.now() + ms);
    },
  };
};

const shared = new Map<string, RateLimiter>();

/**
 * The process's one bucket for `apiKey`, made at `perSecond` on first use. A later
 * caller asking another rate gets the same bucket: the first rate stands.
 */
export const sharedRateLimiter = (apiKey: string, perSecond: number): RateLimiter => {
  let limiter = shared.get(apiKey);
  if (limiter === undefined) shared.set(apiKey, limiter = tokenBucket(perSecond));
  return limiter;
};

/** Stripe's basic rate limit for a key, per second: 100 live, 25 in test mode. */
export const stripeRateLimit = (apiKey: string): number => /^(sk|rk)_live_/.test(apiKey) ? 100 : 25;
