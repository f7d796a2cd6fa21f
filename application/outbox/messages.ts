/**
 * What the outbox puts on the bus for each recorded event: its integration event
 * (shared/integration_events.ts), keyed by aggregate id, or nothing. What came from
 * Stripe (PlanImportedFromStripe, PlanChangedInStripe, …) is not published on the
 * outbound topics: sending it back to Stripe would echo forever.
 * @module
 */
import type { ClientEvent } from "../../domain/client.ts";
import type { PlanEvent } from "../../domain/plan.ts";
import type { PlanSubscriptionEvent } from "../../domain/plan_subscription.ts";
import type { PriceTierEvent } from "../../domain/price_tier.ts";
import {
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  MAX_MESSAGE_BYTES,
  messageBytes,
  type OutgoingMessage,
} from "../ports/bus.ts";
import type { EventStore, RecordedEvent } from "../ports/event_store.ts";
import { priceTiers } from "../shared/aggregates.ts";
import { HEADERS, IntegrationEvent, TOPICS } from "../shared/integration_events.ts";
import type { StripeEventRecord } from "../shared/stripe_events.ts";

/** Refused when an event cannot become the message its type promises: a bug to fix, not skip. */
export class UnpublishableEvent extends Error {
  override name = "UnpublishableEvent";
}

/** The events the outbox looks at; any other event of the store is not published. */
type Published =
  | PlanEvent
  | PriceTierEvent
  | ClientEvent
  | PlanSubscriptionEvent
  | StripeEventRecord;

type Mapped = { topic: string; key: string; type: IntegrationEvent["type"]; data: unknown };

const planIdOfTier = async (store: EventStore, priceTierId: string): Promise<string> => {
  const { state } = await priceTiers.read(store, priceTierId);
  if (state === null) {
    throw new UnpublishableEvent(`price tier ${priceTierId} has no plan in its stream`);
  }
  return state.planId;
};

/** The integration event of a domain event; null for what is not published. */
const mapped = async (
  store: EventStore,
  event: RecordedEvent<Published>,
): Promise<Mapped | null> => {
  const plan = (type: IntegrationEvent["type"], planId: string, data: unknown): Mapped => ({
    topic: TOPICS.plans,
    key: planId,
    type,
    data,
  });
  switch (event.type) {
    case "PlanCreated": {
      const { planId, name, description, iconUrl } = event.data;
      return plan("PlanCreatedEvent", planId, {
        planId,
        name,
        description,
        iconUrl,
        isActive: true,
      });
    }
    case "PlanUpdated": {
      const { planId, changes } = event.data;
      return plan("PlanUpdatedEvent", planId, { planId, changes });
    }
    case "PlanDeleted":
      return plan("PlanDeletedEvent", event.data.planId, { planId: event.data.planId });
    case "StripeProductLinked": {
      const { planId, stripeProductId } = event.data;
      return plan("StripeProductCreatedEvent", planId, { planId, stripeProductId });
    }
    case "PriceTierCreated": {
      const { priceTierId, planId, name, unitAmount, currency, interval, intervalCount } =
        event.data;
      return {
        topic: TOPICS.priceTiers,
        key: priceTierId,
        type: "PriceTierCreatedEvent",
        data: { priceTierId, planId, name, unitAmount, currency, interval, intervalCount },
      };
    }
    case "PriceTierDeleted": {
      const { priceTierId } = event.data;
      return {
        topic: TOPICS.priceTiers,
        key: priceTierId,
        type: "PriceTierDeletedEvent",
        data: { priceTierId, planId: await planIdOfTier(store, priceTierId) },
      };
    }
    case "ClientCreated": {
      const { clientId, name, email } = event.data;
      return {
        topic: TOPICS.clients,
        key: clientId,
        type: "ClientCreatedEvent",
        data: { clientId, name, email },
      };
    }
    case "ClientUpdated": {
      const { clientId, changes } = event.data;
      return {
        topic: TOPICS.clients,
        key: clientId,
        type: "ClientUpdatedEvent",
        data: { clientId, changes },
      };
    }
    case "PlanSubscriptionCancelRequested": {
      const { planSubscriptionId, stripeSubscriptionId, immediately } = event.data;
      return {
        topic: TOPICS.planSubscriptions,
        key: planSubscriptionId,
        type: "PlanSubscriptionCancelRequestedEvent",
        data: { planSubscriptionId, stripeSubscriptionId, immediately },
      };
    }
    case "StripeWebhookReceived": {
      const { objectId } = event.data;
      return {
        topic: TOPICS.stripeEvents,
        key: typeof objectId === "string" ? objectId : "",
        type: "StripeWebhookReceivedEvent",
        data: event.data,
      };
    }
    default:
      return null;
  }
};

/** The bus message of a recorded event, checked against its schema; null when not published. */
export const outboxMessage = async (
  store: EventStore,
  event: RecordedEvent,
): Promise<OutgoingMessage | null> => {
  // The store keeps any event; the switch above picks those it knows by their type.
  const message = await mapped(store, event as RecordedEvent<Published>);
  if (message === null) return null;
  const { eventId, correlationId, causationId } = event.metadata;
  const parsed = IntegrationEvent.safeParse({
    type: message.type,
    version: 1,
    eventId,
    occurredAt: event.recordedAt,
    data: message.data,
  });
  if (!parsed.success || message.key === "") {
    const why = parsed.success
      ? "it has no aggregate id"
      : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new UnpublishableEvent(
      `${event.type} at position ${event.position} (${event.streamId}) cannot become ${message.type}: ${why}`,
    );
  }
  return {
    topic: message.topic,
    key: message.key,
    value: JSON.stringify(parsed.data),
    headers: {
      [HEADERS.type]: message.type,
      [HEADERS.eventId]: eventId,
      [HEADERS.correlationId]: correlationId,
      [HEADERS.causationId]: causationId,
    },
  };
};

/**
 * What the outbox publishes for a message the bus would refuse, too large (an event
 * recorded before event_size.ts refused such events at append): a note on the topic's
 * dead-letter topic saying which event it was and why, so that the outbox goes on and
 * `deno task dead-letters list` shows it. It cannot be sent back: its value is the note.
 */
export const tooLargeLetter = (
  message: OutgoingMessage,
  event: RecordedEvent,
): OutgoingMessage | null => {
  const bytes = messageBytes(message);
  if (bytes <= MAX_MESSAGE_BYTES) return null;
  const error = `${event.type} at position ${event.position} (${event.streamId}) makes a ` +
    `message of ${bytes} bytes, over the bus's limit of ${MAX_MESSAGE_BYTES}: not published`;
  return {
    topic: deadLetterTopic(message.topic),
    key: message.key,
    value: JSON.stringify({
      streamId: event.streamId,
      revision: event.revision,
      position: event.position,
      type: event.type,
      bytes,
    }),
    headers: {
      ...message.headers,
      [DEAD_LETTER_HEADERS.error]: error,
      [DEAD_LETTER_HEADERS.topic]: message.topic,
      [DEAD_LETTER_HEADERS.partition]: "",
      [DEAD_LETTER_HEADERS.offset]: "",
      [DEAD_LETTER_HEADERS.attempts]: "0",
      [DEAD_LETTER_HEADERS.group]: "outbox",
      [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
      [DEAD_LETTER_HEADERS.value]: "omitted",
    },
  };
};
