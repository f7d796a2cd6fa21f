/**
 * The StripeGateway on Stripe's own SDK (or on stripe-mock, through STRIPE_API_BASE).
 * On Deno the SDK uses fetch and SubtleCrypto. Its own retries are off: the resilience
 * wrapper owns retrying, and every call carries the caller's idempotency key.
 * @module
 */
import Stripe from "stripe";
import {
  type CheckoutLineItem,
  type CustomerChanges,
  type NewCheckoutSession,
  type NewCustomer,
  type NewPrice,
  type NewProduct,
  PermanentStripeError,
  type ProductChanges,
  type StripeGateway,
  TransientStripeError,
} from "../../application/ports/stripe_gateway.ts";

export type StripeSdkOptions = {
  apiKey: string;
  /** e.g. http://127.0.0.1:12111 for stripe-mock; null or absent for Stripe itself. */
  apiBase?: string | null;
  /** Per request (default 30 s); a timeout is a transient network fault. */
  timeoutMs?: number;
  /** The Stripe API version every call names (STRIPE_API_VERSION); default the SDK's. */
  apiVersion?: string | null;
};

/** The API version the pinned stripe SDK calls when none is configured. */
export const SDK_API_VERSION: string = Stripe.API_VERSION;

export const stripeClient = (
  { apiKey, apiBase, timeoutMs = 30_000, apiVersion }: StripeSdkOptions,
): Stripe => {
  const base = apiBase ? new URL(apiBase) : null;
  const protocol = base?.protocol === "http:" ? "http" : "https";
  return new Stripe(apiKey, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 0,
    timeout: timeoutMs,
    telemetry: false,
    // The SDK's types name only its own version; Stripe takes any it knows.
    ...(apiVersion && { apiVersion: apiVersion as Stripe.LatestApiVersion }),
    ...(base && {
      host: base.hostname,
      port: base.port || (protocol === "http" ? 80 : 443),
      protocol,
    }),
  });
};

/** Retry-After as milliseconds: delta-seconds (fractions accepted) or an HTTP date. */
export const parseRetryAfter = (
  value: string | undefined,
  now = Date.now(),
): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

/** The SDK's error as the port's: transient (try again later) or permanent (refused). */
export const classifyStripeError = (error: unknown): Error => {
  if (!(error instanceof Stripe.errors.StripeError)) return error as Error;
  const message = error.message || error.type;
  if (error instanceof Stripe.errors.StripeConnectionError) {
    return new TransientStripeError(message, "network");
  }
  const status = error.statusCode ?? 0;
  if (error.code === "lock_timeout") return new TransientStripeError(message, "lock_timeout");
  if (error instanceof Stripe.errors.StripeRateLimitError || status === 429) {
    const retryAfter = parseRetryAfter(error.headers?.["retry-after"]);
    return new TransientStripeError(message, "rate_limited", retryAfter);
  }
  // 401/403 mean our key is wrong or lacks a permission: not the object's fault, and
  // fixed by fixing the configuration, so nothing is marked FAILED for it.
  if (status === 401 || status === 403) return new TransientStripeError(message, "authentication");
  // 409: a concurrent request with the same idempotency key is still running.
  if (status === 409) return new TransientStripeError(message, "conflict");
  if (status >= 500 || status === 0) return new TransientStripeError(message, "server");
  return new PermanentStripeError(message, error.code, status);
};

export const call = async <T>(request: () => Promise<T>): Promise<T> => {
  try {
    return await request();
  } catch (error) {
    throw classifyStripeError(error);
  }
};

const productChanges = (changes: ProductChanges): Stripe.ProductUpdateParams => ({
  ...(changes.name !== undefined && { name: changes.name }),
  // Stripe clears a field sent as "".
  ...(changes.description !== undefined && { description: changes.description ?? "" }),
  ...(changes.iconUrl !== undefined && { images: changes.iconUrl ? [changes.iconUrl] : "" }),
  ...(changes.active !== undefined && { active: changes.active }),
});

export const stripeSdkGateway = (options: StripeSdkOptions | { client: Stripe }): StripeGateway => {
  const stripe = "client" in options ? options.client : stripeClient(options);
  return {
    createProduct: (product: NewProduct, idempotencyKey: string) =>
      call(() =>
        stripe.products.create({
          name: product.name,
          ...(product.description !== null && { description: product.description }),
          ...(product.iconUrl !== null && { images: [product.iconUrl] }),
          active: product.active,
          metadata: { nudges_plan_id: product.nudgesPlanId },
        }, { idempotencyKey })
      ).then((created) => created.id),
    updateProduct: (stripeProductId: string, changes: ProductChanges, idempotencyKey: string) =>
      call(() =>
        stripe.products.update(stripeProductId, productChanges(changes), { idempotencyKey })
      )
        .then((updated) => updated.id),
    createPrice: (price: NewPrice, idempotencyKey: string) =>
      call(() =>
        stripe.prices.create({
          product: price.stripeProductId,
          unit_amount: price.unitAmount,
          currency: price.currency,
          ...(price.interval !== null && {
            recurring: { interval: price.interval, interval_count: price.intervalCount ?? 1 },
          }),
          ...(price.nickname !== null && { nickname: price.nickname }),
          metadata: {
            nudges_price_tier_id: price.nudgesPriceTierId,
            nudges_plan_id: price.nudgesPlanId,
          },
        }, { idempotencyKey })
      ).then((created) => created.id),
    archivePrice: (stripePriceId: string, idempotencyKey: string) =>
      call(() => stripe.prices.update(stripePriceId, { active: false }, { idempotencyKey }))
        .then((updated) => updated.id),
    createCustomer: (customer: NewCustomer, idempotencyKey: string) =>
      call(() =>
        stripe.customers.create({
          email: customer.email,
          name: customer.name,
          metadata: { nudges_client_id: customer.nudgesClientId },
        }, { idempotencyKey })
      ).then((created) => created.id),
    updateCustomer: (stripeCustomerId: string, changes: CustomerChanges, idempotencyKey: string) =>
      call(() => stripe.customers.update(stripeCustomerId, changes, { idempotencyKey }))
        .then((updated) => updated.id),
    createCheckoutSession: (session: NewCheckoutSession, idempotencyKey: string) =>
      call(() =>
        stripe.checkout.sessions.create(checkoutSessionParams(session), { idempotencyKey })
      )
        .then((created) => ({ id: created.id, url: created.url ?? "" })),
    listCheckoutLineItems: (stripeCheckoutSessionId: string) =>
      call(async () => {
        const items: CheckoutLineItem[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await stripe.checkout.sessions.listLineItems(stripeCheckoutSessionId, {
            limit: 100,
            ...(after && { starting_after: after }),
          });
          for (const item of page.data) {
            if (item.price === null || item.price === undefined) continue;
            items.push({
              quantity: item.quantity ?? 1,
              amountSubtotal: item.amount_subtotal,
              currency: item.currency,
              price: item.price as unknown as CheckoutLineItem["price"],
            });
          }
          if (!page.has_more || page.data.length === 0) return items;
          after = page.data.at(-1)!.id;
        }
      }),
    cancelSubscription: (
      stripeSubscriptionId: string,
      { immediately }: { immediately: boolean },
      idempotencyKey: string,
    ) =>
      call(() =>
        immediately
          ? stripe.subscriptions.cancel(stripeSubscriptionId, {}, { idempotencyKey })
          : stripe.subscriptions.update(
            stripeSubscriptionId,
            { cancel_at_period_end: true },
            { idempotencyKey },
          )
      ).then((subscription) => subscription.id),
  };
};

/** Nudges' metadata on the session, and on the subscription it makes, name who bought what. */
const checkoutSessionParams = (
  session: NewCheckoutSession,
): Stripe.Checkout.SessionCreateParams => {
  const metadata = {
    nudges_client_id: session.nudgesClientId,
    nudges_plan_id: session.nudgesPlanId,
    nudges_price_tier_id: session.nudgesPriceTierId,
  };
  return {
    mode: session.mode,
    customer: session.stripeCustomerId,
    client_reference_id: session.nudgesClientId,
    line_items: [{ price: session.stripePriceId, quantity: 1 }],
    success_url: session.successUrl,
    cancel_url: session.cancelUrl,
    metadata,
    ...(session.mode === "subscription" && { subscription_data: { metadata } }),
  };
};
