// Inbound: Stripe → Nudges. The webhook endpoint records each verified Stripe event of a
// handled type in its own stream (`recordStripeWebhook`); the outbox puts it on the bus;
// `inboundHandler` turns the bus message into domain commands, once per Stripe event.
import { z } from "zod";
import { DomainError } from "../domain/decider.ts";
import { type Bus, type Consumer, type MessageHandler, PermanentFailure } from "./bus.ts";
import { type Clock, nameBasedId } from "./clock.ts";
import { type EventStore, WrongExpectedRevision } from "./event_store.ts";
import { applyCheckoutCompleted, CheckoutSession } from "./inbound_checkout.ts";
import {
  applyPriceEvent,
  applyProductEvent,
  StripePrice,
  StripeProduct,
} from "./inbound_catalog.ts";
import type { InboundContext } from "./inbound_once.ts";
import { HEADERS, parseMessage, StripeWebhookReceivedEvent, TOPICS } from "./integration_events.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { isNudgesIdempotencyKey } from "./stripe_gateway.ts";

export const HANDLED_STRIPE_EVENT_TYPES: ReadonlySet<string> = new Set([
  "product.created",
  "product.updated",
  "product.deleted",
  "price.created",
  "price.updated",
  "price.deleted",
  "checkout.session.completed",
]);

/** The stream of one Stripe event: what was received, then that it was applied. */
export const stripeEventStream = (stripeEventId: string): string => `stripeEvent-${stripeEventId}`;
/** Recorded by the endpoint; the outbox publishes it on TOPICS.stripeEvents keyed by objectId. */
export const STRIPE_WEBHOOK_RECEIVED = "StripeWebhookReceived";
/** Recorded by the consumer once the event's commands ran; internal, never published. */
export const STRIPE_WEBHOOK_APPLIED = "StripeWebhookApplied";

export type StripeWebhookReceived = {
  stripeEventId: string;
  stripeEventType: string;
  created: number;
  /** The Stripe object's id: the bus key, so one object's events stay in order. */
  objectId: string;
  event: Record<string, unknown>;
};

/** The part of a Stripe event Nudges relies on before it records the event. */
const StripeEvent = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  created: z.number().int(),
  data: z.looseObject({ object: z.looseObject({ id: z.string().min(1) }) }),
});

export class InvalidStripeEvent extends Error {
  override name = "InvalidStripeEvent";
}

/**
 * Makes a verified Stripe event durable: "ignored" for types Nudges does not handle,
 * "duplicate" when this event id was recorded before. Throws InvalidStripeEvent when
 * the event lacks what Nudges needs, and the store's error when it could not write.
 */
export const recordStripeWebhook = async (
  store: EventStore,
  event: unknown,
): Promise<"recorded" | "duplicate" | "ignored"> => {
  const type = (event as { type?: unknown } | null)?.type;
  if (typeof type === "string" && !HANDLED_STRIPE_EVENT_TYPES.has(type)) return "ignored";
  const parsed = StripeEvent.safeParse(event);
  if (!parsed.success) {
    throw new InvalidStripeEvent(
      parsed.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.message}`).join("; "),
    );
  }
  const { id, created, data } = parsed.data;
  // The stream, not the id, makes the record unique; a random id costs no hashing.
  const eventId = crypto.randomUUID();
  const received: StripeWebhookReceived = {
    stripeEventId: id,
    stripeEventType: parsed.data.type,
    created,
    objectId: data.object.id,
    event: event as Record<string, unknown>,
  };
  try {
    await store.append(stripeEventStream(id), [{
      type: STRIPE_WEBHOOK_RECEIVED,
      data: received,
      metadata: {
        eventId,
        correlationId: eventId,
        causationId: eventId,
        cause: { kind: "stripe", stripeEventId: id, stripeEventType: parsed.data.type },
      },
    }], "noStream");
    return "recorded";
  } catch (error) {
    if (error instanceof WrongExpectedRevision) return "duplicate";
    throw error;
  }
};

export type InboundDeps = { store: EventStore; clock: Clock; logger?: Logger };

/** Caused by Nudges itself: Stripe echoes the idempotency key of Nudges' own call. */
const causedByNudges = (event: Record<string, unknown>): boolean => {
  const request = event.request as { idempotency_key?: unknown } | string | null | undefined;
  const key = typeof request === "object" && request !== null ? request.idempotency_key : null;
  return typeof key === "string" && isNudgesIdempotencyKey(key);
};

const objectOf = <T>(schema: z.ZodType<T>, ctx: InboundContext, object: unknown): T => {
  const parsed = schema.safeParse(object);
  if (!parsed.success) {
    throw new PermanentFailure(
      `${ctx.stripeEventType} ${ctx.stripeEventId}: unexpected data.object: ${
        z.prettifyError(parsed.error)
      }`,
    );
  }
  return parsed.data;
};

const apply = async (ctx: InboundContext, event: Record<string, unknown>): Promise<boolean> => {
  const object = (event.data as { object?: unknown }).object;
  const fromNudges = causedByNudges(event);
  switch (ctx.stripeEventType) {
    case "product.created":
    case "product.updated":
    case "product.deleted":
      await applyProductEvent(ctx, objectOf(StripeProduct, ctx, object), { fromNudges });
      return true;
    case "price.created":
    case "price.updated":
    case "price.deleted":
      await applyPriceEvent(ctx, objectOf(StripePrice, ctx, object), { fromNudges });
      return true;
    case "checkout.session.completed":
      await applyCheckoutCompleted(ctx, objectOf(CheckoutSession, ctx, object));
      return true;
    default:
      return false;
  }
};

// A refusal by the domain will not change on retry, except a concurrent import.
const RETRYABLE_CODES = new Set(["PlanExists", "PriceTierExists"]);
const asBusFailure = (error: unknown): unknown =>
  error instanceof DomainError && !RETRYABLE_CODES.has(error.code)
    ? new PermanentFailure(`${error.code}: ${error.message}`, { code: error.code })
    : error;

/**
 * The consumer of TOPICS.stripeEvents. Throws PermanentFailure for what can never apply
 * (dead-lettered at once) and other errors for what may apply later (retried).
 */
export const inboundHandler = (
  { store, clock, logger = silentLogger }: InboundDeps,
): MessageHandler =>
async (message) => {
  const { eventId, data } = parseMessage(message, StripeWebhookReceivedEvent);
  const { stripeEventId, stripeEventType, created, event } = data;
  const log = logger.with({ stripeEventId, stripeEventType });
  const record = stripeEventStream(stripeEventId);
  const recorded = await store.readStream(record);
  if (recorded.some((e) => e.type === STRIPE_WEBHOOK_APPLIED)) {
    log.debug("Stripe event applied before, skipped");
    return;
  }
  const cause = { kind: "stripe" as const, stripeEventId, stripeEventType };
  const correlationId = message.headers[HEADERS.correlationId] ?? eventId;
  const ctx: InboundContext = {
    store,
    clock,
    stripeEventId,
    stripeEventType,
    created,
    metadata: { correlationId, causationId: eventId, cause },
  };
  try {
    if (!await apply(ctx, event)) {
      log.warn("Stripe event of a type Nudges does not handle, skipped");
      return;
    }
  } catch (error) {
    throw asBusFailure(error);
  }
  const appliedId = await nameBasedId("stripeEffect", `${stripeEventId}|applied`);
  try {
    await store.append(record, [{
      type: STRIPE_WEBHOOK_APPLIED,
      data: { stripeEventId, appliedAt: clock() },
      metadata: { ...ctx.metadata, eventId: appliedId },
    }], recorded.length === 0 ? "noStream" : recorded.length - 1);
  } catch (error) {
    // Another delivery of the same event marked it first: the effects are done either way.
    if (!(error instanceof WrongExpectedRevision)) throw error;
  }
  log.debug("Stripe event applied");
};

export const INBOUND_GROUP = "nudges-inbound";

/**
 * Consumes TOPICS.stripeEvents. A price whose product is not applied yet waits: about
 * a minute and a half of backoff before it is dead-lettered.
 */
export const startInbound = (bus: Bus, deps: InboundDeps): Promise<Consumer> =>
  bus.consume({
    groupId: INBOUND_GROUP,
    topics: [TOPICS.stripeEvents],
    handler: inboundHandler(deps),
    maxAttempts: 10,
    initialBackoffMs: 200,
    maxBackoffMs: 30_000,
  });
