/**
 * The StripeGateway port: the few Stripe calls outbound sync makes, in Nudges' words.
 * Every call carries an idempotency key, so a retried or redelivered call has one effect;
 * every failure is either transient (try again later) or permanent (Stripe refused it).
 * @module
 */
import type { BillingInterval } from "../../domain/price_tier.ts";

export type NewProduct = {
  nudgesPlanId: string;
  name: string;
  description: string | null;
  iconUrl: string | null;
  active: boolean;
};

/** Only the fields given change; null clears a description or an icon. */
export type ProductChanges = {
  name?: string;
  description?: string | null;
  iconUrl?: string | null;
  active?: boolean;
};

export type NewPrice = {
  nudgesPriceTierId: string;
  nudgesPlanId: string;
  stripeProductId: string;
  nickname: string | null;
  /** In the currency's minor unit. */
  unitAmount: number;
  currency: string;
  /** null for a one-time price. */
  interval: BillingInterval | null;
  intervalCount: number | null;
};

export type NewCustomer = { nudgesClientId: string; name: string; email: string };

/** Only the fields given change. */
export type CustomerChanges = { name?: string; email?: string };

/** A Checkout Session for one price tier, paid by the client's Stripe customer. */
export type NewCheckoutSession = {
  nudgesClientId: string;
  nudgesPlanId: string;
  nudgesPriceTierId: string;
  stripeCustomerId: string;
  stripePriceId: string;
  /** subscription for a recurring price, payment for a one-time one. */
  mode: "subscription" | "payment";
  successUrl: string;
  cancelUrl: string;
};

export type CreatedCheckoutSession = { id: string; url: string };

/** One line of a Checkout Session, with its price as Stripe sends it (a Price object). */
export type CheckoutLineItem = {
  quantity: number;
  /** Before discounts and taxes, in the currency's minor unit. */
  amountSubtotal: number;
  currency: string;
  price: Record<string, unknown> & { id: string };
};

/**
 * Each change resolves to the id of the Stripe object it created or changed; a create or
 * change carries an idempotency key, a read none.
 */
export interface StripeGateway {
  createProduct(product: NewProduct, idempotencyKey: string): Promise<string>;
  updateProduct(
    stripeProductId: string,
    changes: ProductChanges,
    idempotencyKey: string,
  ): Promise<string>;
  createPrice(price: NewPrice, idempotencyKey: string): Promise<string>;
  /** Sets the price inactive: Stripe prices cannot be deleted. */
  archivePrice(stripePriceId: string, idempotencyKey: string): Promise<string>;
  createCustomer(customer: NewCustomer, idempotencyKey: string): Promise<string>;
  updateCustomer(
    stripeCustomerId: string,
    changes: CustomerChanges,
    idempotencyKey: string,
  ): Promise<string>;
  createCheckoutSession(
    session: NewCheckoutSession,
    idempotencyKey: string,
  ): Promise<CreatedCheckoutSession>;
  /** Every line item of a Checkout Session (Stripe's list-line-items call, all pages). */
  listCheckoutLineItems(stripeCheckoutSessionId: string): Promise<CheckoutLineItem[]>;
  /** Cancels at the end of the paid period (cancel_at_period_end), or now. */
  cancelSubscription(
    stripeSubscriptionId: string,
    options: { immediately: boolean },
    idempotencyKey: string,
  ): Promise<string>;
}

/** Why a call may succeed later. */
export type TransientReason =
  | "network"
  | "server"
  | "rate_limited"
  | "lock_timeout"
  | "conflict"
  | "authentication"
  | "unavailable";

/** Stripe could not answer now; the same call with the same key may succeed later. */
export class TransientStripeError extends Error {
  override name = "TransientStripeError";
  constructor(
    message: string,
    readonly reason: TransientReason,
    /** How long Stripe (or the circuit breaker) asked us to wait, when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The circuit breaker is open: no call was made. Try again after `retryAfterMs`. */
export class StripeUnavailableError extends TransientStripeError {
  override name = "StripeUnavailableError";
  constructor(retryAfterMs: number) {
    super(
      `Stripe calls are paused for ${retryAfterMs} ms after repeated failures`,
      "unavailable",
      retryAfterMs,
    );
  }
}

/** Stripe refused the call for good; `message` is Stripe's own explanation. */
export class PermanentStripeError extends Error {
  override name = "PermanentStripeError";
  constructor(message: string, readonly code?: string, readonly statusCode?: number) {
    super(message);
  }
}

export type CircuitState = "closed" | "open" | "half-open";

/** The health of the road to Stripe, for pausing consumers and for metrics. */
export type StripeCircuit = {
  state(): CircuitState;
  /**
   * Calls `listener` with the cooldown when the breaker opens; returns a function that
   * unsubscribes.
   */
  onBreak(listener: (cooldownMs: number) => void): () => void;
  /** Calls `listener` when the breaker closes again after a successful trial call. */
  onReset(listener: () => void): () => void;
};

const KEY_PREFIX = "nudges-";

/**
 * The idempotency key of the Stripe call a Nudges event causes. Stripe echoes it in
 * `event.request.idempotency_key`, so the inbound side can tell our own changes apart.
 */
export const idempotencyKeyFor = (eventId: string): string => `${KEY_PREFIX}${eventId}`;

/** True when a Stripe request was made by Nudges' outbound sync. */
export const isNudgesIdempotencyKey = (key: string | null | undefined): boolean =>
  typeof key === "string" && key.startsWith(KEY_PREFIX);

// ---------------------------------------------------------------------------------------
// Reading Stripe back (reconcile, missed events) and the webhook endpoint. Kept apart from
// the calls above, which outbound sync makes: these are read calls and operator calls.
// resilience.ts wraps them like every other call, the rate limit included.
// ---------------------------------------------------------------------------------------

/** A Stripe object as Stripe sent it; readers parse what they use (inbound/stripe_objects.ts). */
export type StripeRecord = { id: string } & Record<string, unknown>;

/** One page of a Stripe list, newest first; `hasMore`: ask again after its last id. */
export type StripePage = { data: StripeRecord[]; hasMore: boolean };

/** The lists reconcile compares with Nudges. */
export type StripeListKind = "products" | "prices" | "customers" | "subscriptions";

export type PageRequest = {
  /** The id of the last object of the previous page. */
  startingAfter?: string;
  /** 1 to 100 (default 100). */
  limit?: number;
  /** Only objects created in [gte, lt) (whole seconds): a slice of the list. */
  created?: { gte?: number; lt?: number };
};

export type EventPageRequest = Omit<PageRequest, "created"> & {
  /** Whole seconds: events created at or after it (Stripe keeps 30 days of events). */
  createdGte: number;
  /** Only these types. */
  types: readonly string[];
};

export interface StripeReader {
  /** One page of every object of a kind, the archived (inactive) ones included. */
  listPage(kind: StripeListKind, page: PageRequest): Promise<StripePage>;
  /** The object; null when Stripe has none with that id (deleted, or never made). */
  retrieve(kind: StripeListKind, id: string): Promise<StripeRecord | null>;
  /** One page of Stripe's events, as their webhooks would have carried them. */
  listEvents(page: EventPageRequest): Promise<StripePage>;
  /**
   * The id of an object whose metadata[key] is `value` (Stripe's search); null when none.
   * Search lags writes by up to a minute: for objects made long ago.
   */
  findByMetadata(kind: SearchableKind, key: string, value: string): Promise<string | null>;
}

export type SearchableKind = "products" | "prices" | "customers";

export type WebhookEndpoint = {
  id: string;
  url: string;
  enabledEvents: string[];
  /** null: the account's default version. */
  apiVersion: string | null;
  status: string;
  /** The signing secret: Stripe returns it when it creates the endpoint, never after. */
  secret: string | null;
};

export type WebhookEndpointSpec = {
  url: string;
  enabledEvents: readonly string[];
  description: string;
};

export interface StripeWebhookEndpoints {
  /** Every endpoint of the account. */
  listWebhookEndpoints(): Promise<WebhookEndpoint[]>;
  createWebhookEndpoint(
    spec: WebhookEndpointSpec & { apiVersion: string },
    idempotencyKey: string,
  ): Promise<WebhookEndpoint>;
  /** Stripe cannot change an endpoint's API version: only its URL, events, description. */
  updateWebhookEndpoint(
    id: string,
    spec: WebhookEndpointSpec,
    idempotencyKey: string,
  ): Promise<WebhookEndpoint>;
}

/** Everything Nudges asks of Stripe. */
export type StripeApi = StripeGateway & StripeReader & StripeWebhookEndpoints;
