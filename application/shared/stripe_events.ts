/**
 * The Stripe webhook events Nudges handles, and the stream each one is recorded in: small
 * constants that the webhook endpoint, the outbox and the inbound consumer all need,
 * kept apart from the inbound logic so that neither the endpoint nor the outbox loads it.
 * @module
 */

/** Every Stripe event type Nudges applies; the endpoint records these and ignores others. */
export const HANDLED_STRIPE_EVENT_TYPES = [
  "product.created",
  "product.updated",
  "product.deleted",
  "price.created",
  "price.updated",
  "price.deleted",
  "customer.created",
  "customer.updated",
  "customer.deleted",
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "invoice.paid",
  "invoice.payment_failed",
  "charge.refunded",
] as const;

export type HandledStripeEventType = typeof HANDLED_STRIPE_EVENT_TYPES[number];

const HANDLED: ReadonlySet<string> = new Set(HANDLED_STRIPE_EVENT_TYPES);

export const isHandledStripeEventType = (type: string): type is HandledStripeEventType =>
  HANDLED.has(type);

/** The stream of one Stripe event: what was received, then that it was applied. */
export const stripeEventStream = (stripeEventId: string): string => `stripeEvent-${stripeEventId}`;

/** What the endpoint recorded of a verified Stripe event. */
export type StripeWebhookReceived = {
  stripeEventId: string;
  stripeEventType: string;
  /** Stripe's `created`, whole seconds. */
  created: number;
  /** The Stripe object's id: the bus key, so one object's events stay in order. */
  objectId: string;
  /** The Stripe event as Stripe sent it. */
  event: Record<string, unknown>;
};

/** The events of a `stripeEvent-<id>` stream. */
export type StripeEventRecord =
  /** Recorded by the endpoint; the outbox publishes it on TOPICS.stripeEvents keyed by objectId. */
  | { type: "StripeWebhookReceived"; data: StripeWebhookReceived }
  /**
   * Recorded by the inbound consumer once the event's commands ran; never published.
   * `retriedFrom`: the dead letter it was sent back from (`deno task dead-letters retry`).
   */
  | {
    type: "StripeWebhookApplied";
    data: { stripeEventId: string; appliedAt: string; retriedFrom?: string };
  }
  /** Recorded by the inbound consumer when it gave up on the event: why; never published. */
  | { type: "StripeWebhookDeadLettered"; data: StripeWebhookDeadLettered };

/** Why the inbound consumer gave up on a Stripe event, and where its dead letter went. */
export type StripeWebhookDeadLettered = {
  stripeEventId: string;
  /** The last error, "Name: message". */
  reason: string;
  attempts: number;
  /** PermanentFailure details, when the handler gave any. */
  details?: unknown;
  group: string;
  /** Where the message was: its dead letter is in `<topic>.dead-letter`. */
  topic: string;
  partition: number;
  offset: string;
  deadLetteredAt: string;
};

export const STRIPE_WEBHOOK_RECEIVED = "StripeWebhookReceived";
export const STRIPE_WEBHOOK_APPLIED = "StripeWebhookApplied";
export const STRIPE_WEBHOOK_DEAD_LETTERED = "StripeWebhookDeadLettered";
