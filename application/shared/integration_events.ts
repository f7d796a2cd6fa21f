/**
 * Every message Nudges puts on the bus, as zod schemas: the wire contract between the
 * outbox publisher and the consumers (documented in docs/asyncapi.yaml). Each message
 * is versioned; a consumer refuses (dead-letters) what does not parse.
 * @module
 */
import { z } from "zod";
import { type IncomingMessage, PermanentFailure } from "../ports/bus.ts";

export const TOPICS = {
  plans: "nudges.plans",
  priceTiers: "nudges.price-tiers",
  clients: "nudges.clients",
  planSubscriptions: "nudges.plan-subscriptions",
  stripeEvents: "stripe.events",
} as const;

/** Headers every message carries. */
export const HEADERS = {
  type: "x-event-type",
  eventId: "x-event-id",
  correlationId: "x-correlation-id",
  causationId: "x-causation-id",
} as const;

const id = z.string().min(1);
const at = z.iso.datetime({ offset: true });
const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({
    type: z.literal(type),
    version: z.literal(1),
    /** The domain event's id: consumers dedupe on it; Stripe idempotency keys derive from it. */
    eventId: id,
    occurredAt: at,
    data,
  });

const billingInterval = z.enum(["day", "week", "month", "year"]);

export const PlanCreatedEvent = envelope(
  "PlanCreatedEvent",
  z.object({
    planId: id,
    name: z.string().min(1),
    description: z.string().nullable(),
    iconUrl: z.string().nullable(),
    isActive: z.boolean(),
  }),
);
export const PlanUpdatedEvent = envelope(
  "PlanUpdatedEvent",
  z.object({
    planId: id,
    changes: z.object({
      name: z.string().min(1).optional(),
      description: z.string().nullable().optional(),
      iconUrl: z.string().nullable().optional(),
      isActive: z.boolean().optional(),
    }),
  }),
);
export const PlanDeletedEvent = envelope("PlanDeletedEvent", z.object({ planId: id }));
export const PriceTierCreatedEvent = envelope(
  "PriceTierCreatedEvent",
  z.object({
    priceTierId: id,
    planId: id,
    name: z.string().nullable(),
    unitAmount: z.number().int().min(0),
    currency: z.string().regex(/^[a-z]{3}$/),
    interval: billingInterval.nullable(),
    intervalCount: z.number().int().min(1).nullable(),
  }),
);
export const PriceTierDeletedEvent = envelope(
  "PriceTierDeletedEvent",
  z.object({ priceTierId: id, planId: id }),
);
export const ClientCreatedEvent = envelope(
  "ClientCreatedEvent",
  z.object({ clientId: id, name: z.string().min(1), email: z.string().min(3) }),
);
/** Only the fields given changed. */
export const ClientUpdatedEvent = envelope(
  "ClientUpdatedEvent",
  z.object({
    clientId: id,
    changes: z.object({ name: z.string().min(1).optional(), email: z.string().min(3).optional() }),
  }),
);
/** Nudges asks Stripe to cancel a subscription: at the end of its paid period, or now. */
export const PlanSubscriptionCancelRequestedEvent = envelope(
  "PlanSubscriptionCancelRequestedEvent",
  z.object({ planSubscriptionId: id, stripeSubscriptionId: id, immediately: z.boolean() }),
);
/** A plan got its Stripe product: outbound sync linked it from Stripe's answer. */
export const StripeProductCreatedEvent = envelope(
  "StripeProductCreatedEvent",
  z.object({ planId: id, stripeProductId: id }),
);
/** A verified Stripe webhook event, recorded and put on the bus for the inbound consumer. */
export const StripeWebhookReceivedEvent = envelope(
  "StripeWebhookReceivedEvent",
  z.object({
    stripeEventId: id,
    stripeEventType: z.string().min(1),
    /** Stripe's `created`, whole seconds. */
    created: z.number().int(),
    /** The Stripe object the event is about (data.object.id): the message key. */
    objectId: id,
    /** The Stripe event as Stripe sent it. */
    event: z.looseObject({ id, type: z.string(), created: z.number(), data: z.looseObject({}) }),
  }),
);

export const IntegrationEvent = z.discriminatedUnion("type", [
  PlanCreatedEvent,
  PlanUpdatedEvent,
  PlanDeletedEvent,
  PriceTierCreatedEvent,
  PriceTierDeletedEvent,
  ClientCreatedEvent,
  ClientUpdatedEvent,
  PlanSubscriptionCancelRequestedEvent,
  StripeProductCreatedEvent,
  StripeWebhookReceivedEvent,
]);
export type IntegrationEvent = z.infer<typeof IntegrationEvent>;
export type IntegrationEventOf<T extends IntegrationEvent["type"]> = Extract<
  IntegrationEvent,
  { type: T }
>;

/**
 * The message's value parsed with `schema`; a PermanentFailure carrying the zod issues
 * when it is not JSON or does not match, so the bus dead-letters it at once.
 */
export const parseMessage = <S extends z.ZodType = typeof IntegrationEvent>(
  message: IncomingMessage,
  schema: S = IntegrationEvent as unknown as S,
): z.infer<S> => {
  const where = `message ${message.topic}/${message.partition}@${message.offset}`;
  let json: unknown;
  try {
    json = JSON.parse(message.value);
  } catch (error) {
    throw new PermanentFailure(`${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new PermanentFailure(
      `${where} does not match its schema: ${z.prettifyError(parsed.error)}`,
      parsed.error.issues,
    );
  }
  return parsed.data;
};
