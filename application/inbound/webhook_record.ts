// What the webhook endpoint does with a verified Stripe event: record it, in a stream of
// its own, before Stripe gets its 200. The outbox then puts it on the bus for the inbound
// consumer (application/inbound.ts). Nothing else happens in the request.
import { z } from "zod";
import { type EventStore, WrongExpectedRevision } from "../ports/event_store.ts";
import { HANDLED_STRIPE_EVENT_TYPES } from "./handlers.ts";

/** The stream of one Stripe event: what was received, then that it was applied. */
export const stripeEventStream = (stripeEventId: string): string => `stripeEvent-${stripeEventId}`;
/** Recorded by the endpoint; the outbox publishes it on TOPICS.stripeEvents keyed by objectId. */
export const STRIPE_WEBHOOK_RECEIVED = "StripeWebhookReceived";

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
 * The stream is written with expected revision noStream: that is the dedupe.
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
