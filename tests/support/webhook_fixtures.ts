// Stripe webhook deliveries for tests: events built around the real object shapes in
// fixtures/stripe_webhook_objects.json (copied from Stripe's own OpenAPI fixtures, fixtures3.json of stripe/openapi)
// and signed the way Stripe signs them.
import Stripe from "stripe";
import objects from "./fixtures/stripe_webhook_objects.json" with { type: "json" };

type Json = Record<string, unknown>;

export const SECRET = "whsec_test_0123456789abcdef";
export const API_KEY = "test-webhooks-api-key-0123";
/** The tests' "now": webhooks are signed at this second unless said otherwise. */
export const NOW = "2026-03-01T12:00:00.000Z";
export const NOW_SECONDS = Date.parse(NOW) / 1000;

const copy = <T>(value: T): T => structuredClone(value);

export const product = (fields: Json = {}): Json => ({ ...copy(objects.product), ...fields });
export const price = (fields: Json = {}): Json => ({ ...copy(objects.price), ...fields });
export const customer = (fields: Json = {}): Json => ({ ...copy(objects.customer), ...fields });
export const checkoutSession = (fields: Json = {}): Json => ({
  ...copy(objects["checkout.session"]),
  ...fields,
});

export const subscription = (fields: Json = {}): Json => ({
  ...copy(objects.subscription),
  ...fields,
});
export const invoice = (fields: Json = {}): Json => ({ ...copy(objects.invoice), ...fields });
export const charge = (fields: Json = {}): Json => ({ ...copy(objects.charge), ...fields });
/** A Checkout Session's line item (Stripe's `item`), as list-line-items answers it. */
export const lineItem = (fields: Json = {}): Json => ({ ...copy(objects.item), ...fields });

let sequence = 0;

/** A Stripe event around `object`, as Stripe delivers it. */
export const stripeEvent = (
  type: string,
  object: Json,
  { id, created = NOW_SECONDS - 60, idempotencyKey = null }: {
    id?: string;
    created?: number;
    idempotencyKey?: string | null;
  } = {},
): Json => ({
  ...copy(objects.event),
  id: id ?? `evt_test_${++sequence}`,
  type,
  created,
  api_version: "2025-01-27.acacia",
  data: { object },
  request: { id: idempotencyKey ? "req_test" : null, idempotency_key: idempotencyKey },
});

const cryptoProvider = Stripe.createSubtleCryptoProvider();

/** The Stripe-Signature header for `payload`, signed with each of `secrets` (rotation). */
export const signature = async (
  payload: string,
  { secrets = [SECRET], timestamp = NOW_SECONDS }: { secrets?: string[]; timestamp?: number } = {},
): Promise<string> => {
  const headers = await Promise.all(
    secrets.map((secret) =>
      Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp, cryptoProvider })
    ),
  );
  const v1 = headers.map((h) => h.split(",").find((p) => p.startsWith("v1="))!);
  return [`t=${timestamp}`, ...v1].join(",");
};

export const webhookUrl = (code: string | null = API_KEY, base = "http://localhost") =>
  `${base}/api/StripeWebhookHandler${code === null ? "" : `?code=${encodeURIComponent(code)}`}`;

/** A signed POST of `body` (an event, or raw text) as Stripe sends it. */
export const signedRequest = async (
  body: Json | string,
  options: { code?: string | null; secrets?: string[]; timestamp?: number; base?: string } = {},
): Promise<Request> => {
  const payload = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  return new Request(
    webhookUrl(options.code === undefined ? API_KEY : options.code, options.base),
    {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": await signature(payload, options),
      },
      body: payload,
    },
  );
};
