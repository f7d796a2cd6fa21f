// The outbox publisher: follows the event store from its stored checkpoint and puts
// the integration event of each Nudges event on the bus. No dual write: a command only
// appends to the store, and this is the one way onto the bus. A page is published
// before any of its events is checkpointed, so a crash in between publishes it again
// (consumers dedupe by eventId) and nothing is ever skipped.
//
// What came from Stripe (PlanImportedFromStripe, PlanChangedInStripe, …) is not
// published on the outbound topics: sending it back to Stripe would echo forever.
import type { ClientEvent } from "../../domain/client.ts";
import type { PlanEvent } from "../../domain/plan.ts";
import { type PriceTierEvent, priceTierStream } from "../../domain/price_tier.ts";
import type { Bus, OutgoingMessage } from "../ports/bus.ts";
import type { EventStore, RecordedEvent, Subscription } from "../ports/event_store.ts";
import { STRIPE_WEBHOOK_RECEIVED } from "../inbound/webhook_record.ts";
import { HEADERS, IntegrationEvent, TOPICS } from "../shared/integration_events.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";

export const OUTBOX_SUBSCRIBER = "outbox";

export type OutboxOptions = {
  store: EventStore;
  bus: Bus;
  signal: AbortSignal;
  /** Names the stored checkpoint (default "outbox"). */
  subscriberId?: string;
  /** Events read and published together (default 500). */
  pageSize?: number;
  logger?: Logger;
  /** Called whenever the outbox has published everything in the store. */
  onCaughtUp?: (position: number) => void;
};

/** Refused when an event cannot become the message its type promises: a bug to fix, not skip. */
export class UnpublishableEvent extends Error {
  override name = "UnpublishableEvent";
}

type DataOf<E extends { type: string; data: unknown }, T extends E["type"]> = Extract<
  E,
  { type: T }
>["data"];

type Mapped = { topic: string; key: string; type: IntegrationEvent["type"]; data: unknown };

const planIdOfTier = async (store: EventStore, priceTierId: string): Promise<string> => {
  for (const event of await store.readStream(priceTierStream(priceTierId))) {
    const planId = (event.data as { planId?: unknown }).planId;
    if (typeof planId === "string") return planId;
  }
  throw new UnpublishableEvent(`price tier ${priceTierId} has no plan in its stream`);
};

/** The integration event of a domain event; null for what is not published. */
const mapped = async (store: EventStore, event: RecordedEvent): Promise<Mapped | null> => {
  const plan = (type: IntegrationEvent["type"], planId: string, data: unknown): Mapped => ({
    topic: TOPICS.plans,
    key: planId,
    type,
    data,
  });
  switch (event.type) {
    case "PlanCreated": {
      const { planId, name, description, iconUrl } = event.data as DataOf<
        PlanEvent,
        "PlanCreated"
      >;
      return plan("PlanCreatedEvent", planId, {
        planId,
        name,
        description,
        iconUrl,
        isActive: true,
      });
    }
    case "PlanUpdated": {
      const { planId, changes } = event.data as DataOf<PlanEvent, "PlanUpdated">;
      return plan("PlanUpdatedEvent", planId, { planId, changes });
    }
    case "PlanDeleted": {
      const { planId } = event.data as DataOf<PlanEvent, "PlanDeleted">;
      return plan("PlanDeletedEvent", planId, { planId });
    }
    case "StripeProductLinked": {
      const { planId, stripeProductId } = event.data as DataOf<PlanEvent, "StripeProductLinked">;
      return plan("StripeProductCreatedEvent", planId, { planId, stripeProductId });
    }
    case "PriceTierCreated": {
      const { priceTierId, planId, name, unitAmount, currency, interval, intervalCount } = event
        .data as DataOf<PriceTierEvent, "PriceTierCreated">;
      return {
        topic: TOPICS.priceTiers,
        key: priceTierId,
        type: "PriceTierCreatedEvent",
        data: { priceTierId, planId, name, unitAmount, currency, interval, intervalCount },
      };
    }
    case "PriceTierDeleted": {
      const { priceTierId } = event.data as DataOf<PriceTierEvent, "PriceTierDeleted">;
      return {
        topic: TOPICS.priceTiers,
        key: priceTierId,
        type: "PriceTierDeletedEvent",
        data: { priceTierId, planId: await planIdOfTier(store, priceTierId) },
      };
    }
    case "ClientCreated": {
      const { clientId, name, email } = event.data as DataOf<ClientEvent, "ClientCreated">;
      return {
        topic: TOPICS.clients,
        key: clientId,
        type: "ClientCreatedEvent",
        data: { clientId, name, email },
      };
    }
    case STRIPE_WEBHOOK_RECEIVED: {
      const data = event.data as { objectId?: unknown };
      return {
        topic: TOPICS.stripeEvents,
        key: typeof data.objectId === "string" ? data.objectId : "",
        type: "StripeWebhookReceivedEvent",
        data,
      };
    }
    default:
      return null;
  }
};

/** The bus message of a domain event, checked against its schema; null when not published. */
export const outboxMessage = async (
  store: EventStore,
  event: RecordedEvent,
): Promise<OutgoingMessage | null> => {
  const message = await mapped(store, event);
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
 * Publishes until `signal` aborts. `done` rejects if publishing failed for good (the bus
 * is down, or an UnpublishableEvent): restart it, and it goes on from its checkpoint.
 */
export const startOutbox = (options: OutboxOptions): Subscription => {
  const { store, bus, signal, pageSize = 500, onCaughtUp } = options;
  const logger = (options.logger ?? silentLogger).with({ subscriber: "outbox" });
  // The subscription hands over one event at a time; the first of a page publishes the
  // page and the rest find themselves published already. Each event is thus on the bus
  // before its handler returns, which is all the checkpoint needs. Pages are read after
  // the previous event's position: a store's positions need not be consecutive numbers
  // (EventStoreDB's are log offsets), so `position - 1` is no place to read from.
  const subscriberId = options.subscriberId ?? OUTBOX_SUBSCRIBER;
  let previous: number | undefined;
  let publishedUpTo = 0;
  return store.subscribeAll({
    subscriberId,
    signal,
    onCaughtUp,
    handler: async (event) => {
      previous ??= await store.readCheckpoint(subscriberId);
      if (event.position <= publishedUpTo) {
        previous = event.position;
        return;
      }
      const page = await store.readAll({ after: previous, limit: pageSize });
      const messages: OutgoingMessage[] = [];
      for (const recorded of page) {
        const message = await outboxMessage(store, recorded);
        if (message) messages.push(message);
      }
      await bus.publish(messages);
      publishedUpTo = page.at(-1)?.position ?? event.position;
      previous = event.position;
      logger.debug("published", { events: page.length, messages: messages.length, publishedUpTo });
    },
  });
};
