/**
 * Webhook delivery the way Stripe does it: signed (Stripe-Signature: t=…,v1=HMAC-SHA256 of
 * "t.body"), in the background, at least once, retried with backoff until the endpoint
 * answers 2xx. Pending deliveries are rows of the simulator store, so they outlive a
 * restart.
 * @module
 */
import type { Logger } from "../../application/ports/logger.ts";
import type { SimulatorStore } from "./simulator_store.ts";

export type WebhookTarget = { url: string; secret: string };

export type RetryPolicy = {
  /** Delay before the first retry; each next one doubles. Default 500 ms. */
  firstDelayMs?: number;
  /** Default 30 s. */
  maxDelayMs?: number;
  /** Stripe gives up after 3 days; the default never gives up. */
  maxAttempts?: number;
};

export type StripeEvent = { id: string; type: string } & Record<string, unknown>;
export type Delivery = { event: StripeEvent; attempts: number; nextAttemptAt: number };

export type WebhookSender = {
  /** Look for due deliveries now (after a new event, or a new target). */
  kick(): void;
  pending(): number;
  close(): Promise<void>;
};

const DELIVERY_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

export const signatureHeader = async (
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<string> => {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `t=${timestamp},v1=${hex}`;
};

// The webhook URL carries WEBHOOKS_API_KEY in its query: never log it.
const withoutQuery = (text: string) => text.replace(/\?[^\s)"']*/g, "?…");

export const startWebhookSender = (
  { store, target, retry = {}, logger }: {
    store: SimulatorStore;
    target: () => WebhookTarget | null;
    retry?: RetryPolicy;
    logger: Logger;
  },
): WebhookSender => {
  const { firstDelayMs = 500, maxDelayMs = 30_000, maxAttempts = Infinity } = retry;
  let closed = false;
  let running: Promise<void> | null = null;
  let kickedWhileRunning = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;

  /** null when delivered, else why not. */
  const send = async ({ event }: Delivery, { url, secret }: WebhookTarget) => {
    const payload = JSON.stringify(event, null, 2);
    inFlight = new AbortController();
    const timeout = setTimeout(() => inFlight?.abort(), DELIVERY_TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": await signatureHeader(payload, secret),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        body: payload,
        signal: inFlight.signal,
      });
      await response.body?.cancel();
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return withoutQuery(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timeout);
      inFlight = null;
    }
  };

  const deliverDue = async () => {
    while (!closed) {
      const to = target();
      if (to === null) return;
      const now = Date.now();
      const [due] = store.list<Delivery>("delivery").filter((d) => d.nextAttemptAt <= now)
        .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
      if (due === undefined) return;
      const failure = await send(due, to);
      if (failure === null) {
        store.write([{ kind: "delivery", id: due.event.id, value: null }]);
        continue;
      }
      if (closed) return; // aborted by close(): still pending, for the next start
      const attempts = due.attempts + 1;
      const fields = { eventId: due.event.id, type: due.event.type, attempts, reason: failure };
      if (attempts >= maxAttempts) {
        logger.error("stripe simulator: webhook delivery given up", fields);
        store.write([{ kind: "delivery", id: due.event.id, value: null }]);
        continue;
      }
      const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempts - 1));
      logger.warn("stripe simulator: webhook delivery failed, will retry", { ...fields, delayMs });
      const next: Delivery = { ...due, attempts, nextAttemptAt: Date.now() + delayMs };
      store.write([{ kind: "delivery", id: due.event.id, value: next }]);
    }
  };

  const scheduleNext = () => {
    const next = store.list<Delivery>("delivery").map((d) => d.nextAttemptAt);
    if (closed || target() === null || next.length === 0) return;
    timer = setTimeout(kick, Math.max(0, Math.min(...next) - Date.now()));
  };

  const kick = () => {
    if (closed) return;
    if (running !== null) {
      kickedWhileRunning = true;
      return;
    }
    clearTimeout(timer);
    timer = undefined;
    running = deliverDue()
      .catch((error) => logger.error("stripe simulator: webhook sender failed", { error }))
      .finally(() => {
        running = null;
        if (kickedWhileRunning) {
          kickedWhileRunning = false;
          kick();
        } else scheduleNext();
      });
  };

  return {
    kick,
    pending: () => store.list("delivery").length,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      inFlight?.abort();
      await running;
    },
  };
};
