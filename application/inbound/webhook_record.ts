/**
 * What the webhook endpoint does with a verified Stripe event: record it, in a stream of
 * its own, before Stripe gets its 200. The outbox then puts it on the bus for the inbound
 * consumer (application/inbound/consumer.ts). Nothing else happens in the request, and
 * nothing of the inbound logic is loaded for it.
 * @module
 */
import { z } from "zod";
import { type EventStore, WrongExpectedRevision } from "../ports/event_store.ts";
import { eventTooLarge, jsonBytes, MAX_EVENT_BYTES } from "../shared/event_size.ts";
import {
  isHandledStripeEventType,
  STRIPE_WEBHOOK_RECEIVED,
  stripeEventStream,
  type StripeWebhookReceived,
} from "../shared/stripe_events.ts";

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

/** The event is larger than the bus can carry (shared/event_size.ts): nothing was recorded. */
export class StripeEventTooLarge extends Error {
  override name = "StripeEventTooLarge";
}

/**
 * Makes a verified Stripe event durable: "ignored" for types Nudges does not handle,
 * "duplicate" when this event id was recorded before. Throws InvalidStripeEvent when
 * the event lacks what Nudges needs, StripeEventTooLarge when it is too large for the bus,
 * and the store's error when it could not write.
 */
export const recordStripeWebhook = async (
  store: EventStore,
  event: unknown,
): Promise<"recorded" | "duplicate" | "ignored"> => {
  const type = (event as { type?: unknown } | null)?.type;
  if (typeof type === "string" && !isHandledStripeEventType(type)) return "ignored";
  const parsed = StripeEvent.safeParse(event);
  if (!parsed.success) {
    throw new InvalidStripeEvent(
      parsed.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.message}`).join("; "),
    );
  }
  const { id, created, data } = parsed.data;
  const bytes = jsonBytes(event);
  if (bytes > MAX_EVENT_BYTES) {
    throw new StripeEventTooLarge(
      eventTooLarge(STRIPE_WEBHOOK_RECEIVED, stripeEventStream(id), bytes).message,
    );
  }
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
    // Not through the command handler: no decider is needed when "a stream that does not
    // exist yet" is the whole rule, and noStream is that rule, enforced by the store.
    // Durable: the 200 that follows tells Stripe it has the event, and Stripe never sends it
    // again, so it must survive a power loss too (the port's AppendOptions).
    await store.append(
      stripeEventStream(id),
      [{
        type: STRIPE_WEBHOOK_RECEIVED,
        data: received,
        metadata: {
          eventId,
          correlationId: eventId,
          causationId: eventId,
          cause: { kind: "stripe", stripeEventId: id, stripeEventType: parsed.data.type },
        },
      }],
      "noStream",
      { durable: true },
    );
    return "recorded";
  } catch (error) {
    if (error instanceof WrongExpectedRevision) return "duplicate";
    throw error;
  }
};
