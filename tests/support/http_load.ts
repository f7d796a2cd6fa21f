// Load for the HTTP benchmarks: a closed loop (a fixed number of requests in flight, for
// requests/s) and an open loop (a fixed rate, each latency timed from when its request
// was due, so a stall of the server is not hidden by the client waiting).
import { signature, stripeEvent } from "./webhook_fixtures.ts";
import { product, SECRET } from "./webhook_fixtures.ts";

export type Shot = { body: string; signature: string };
export type LoadResult = { rps: number; p50: number; p99: number; errors: number; sent: number };
export type Send = () => Promise<boolean>;

/** `count` distinct product.created events, signed now (valid for 300 s). */
export const signedProductEvents = async (count: number, run: string): Promise<Shot[]> => {
  const timestamp = Math.floor(Date.now() / 1000);
  const shots: Shot[] = [];
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify(
      stripeEvent("product.created", product({ id: `prod_${run}_${i}`, name: `Product ${i}` }), {
        id: `evt_${run}_${i}`,
      }),
    );
    shots.push({ body, signature: await signature(body, { secrets: [SECRET], timestamp }) });
  }
  return shots;
};

/** POSTs the next shot to `url` at each call; true for a 200. */
export const poster = (url: string, shots: readonly Shot[]): Send => {
  let next = 0;
  return async () => {
    const shot = shots[next++ % shots.length]!;
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": shot.signature },
      body: shot.body,
    });
    await response.arrayBuffer();
    return response.status === 200;
  };
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

const summary = (latencies: number[], errors: number, seconds: number): LoadResult => {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors,
    sent: latencies.length + errors,
  };
};

/** `inFlight` requests at all times for `seconds`. */
export const closedLoop = async (send: Send, inFlight: number, seconds: number) => {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const sentAt = performance.now();
      const ok = await send().catch(() => false);
      if (ok) latencies.push(performance.now() - sentAt);
      else errors++;
    }
  }));
  return summary(latencies, errors, (performance.now() - start) / 1000);
};

/** `rate` requests a second for `seconds`, whatever the answers. */
export const fixedRate = async (send: Send, rate: number, seconds: number) => {
  const latencies: number[] = [];
  let errors = 0;
  const total = rate * seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Send everything that is due; timers are too coarse for one request per tick.
    for (; i < total && start + (i * 1000) / rate <= now; i++) {
      const due = start + (i * 1000) / rate;
      pending.push(
        send().then(
          (ok) => ok ? void latencies.push(performance.now() - due) : void errors++,
          () => void errors++,
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  return summary(latencies, errors, seconds);
};
