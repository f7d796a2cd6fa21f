import type { StripeGateway } from "../../application/ports/stripe_gateway.ts";
// Nudges objects written to an event store the way the app writes them, and the bus
// messages the outbox publishes for them: what the outbound handlers get.
import { type ClientChanges, clientDecider, clientStream } from "../../domain/client.ts";
import { type PlanChanges, planDecider, planStream } from "../../domain/plan.ts";
import { priceTierDecider, priceTierStream, type PriceTierTerms } from "../../domain/price_tier.ts";
import type { IncomingMessage } from "../../application/ports/bus.ts";
import { type Clock, type NewId } from "../../application/ports/clock.ts";
import { sequentialIds } from "./clocks.ts";
import { handleCommand } from "../../application/shared/command_handler.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import {
  HEADERS,
  type IntegrationEvent,
  TOPICS,
} from "../../application/shared/integration_events.ts";

export const NOW = "2026-03-01T12:00:00.000Z";

let offsets = 0;

/** The bus message carrying `event`, keyed by `key`. */
export const messageOf = (
  topic: string,
  key: string,
  event: IntegrationEvent,
): IncomingMessage => ({
  topic,
  partition: 0,
  offset: String(offsets++),
  key,
  value: JSON.stringify(event),
  headers: {
    [HEADERS.type]: event.type,
    [HEADERS.eventId]: event.eventId,
    [HEADERS.correlationId]: `corr-${event.eventId}`,
    [HEADERS.causationId]: event.eventId,
  },
});

/** Writes plans, tiers and clients to `store`; each returns the message the outbox sends. */
export const catalog = (
  store: EventStore,
  clock: Clock = () => NOW,
  ids: NewId = sequentialIds("ev"),
) => {
  const options = () => ({
    metadata: {
      correlationId: "corr",
      causationId: "test",
      cause: { kind: "system" as const, reason: "test" },
    },
    newEventId: ids,
  });
  /** The id of the last event appended to a stream: the integration event's eventId. */
  const lastEventId = async (stream: string) => {
    const events = await store.readStream(stream);
    return events[events.length - 1]!.metadata.eventId;
  };
  const envelope = async (stream: string) => ({
    version: 1 as const,
    eventId: await lastEventId(stream),
    occurredAt: clock(),
  });

  return {
    async createPlan(
      planId: string,
      fields: { name?: string; description?: string | null; iconUrl?: string | null } = {},
    ) {
      const { name = "Gold", description = "Everything", iconUrl = null } = fields;
      await handleCommand(store, planDecider, planStream(planId), {
        type: "CreatePlan",
        data: { planId, at: clock(), name, description, iconUrl },
      }, options());
      return messageOf(TOPICS.plans, planId, {
        type: "PlanCreatedEvent",
        ...await envelope(planStream(planId)),
        data: { planId, name, description, iconUrl, isActive: true },
      });
    },
    async updatePlan(planId: string, changes: PlanChanges) {
      await handleCommand(store, planDecider, planStream(planId), {
        type: "UpdatePlan",
        data: { planId, at: clock(), ...changes },
      }, options());
      return messageOf(TOPICS.plans, planId, {
        type: "PlanUpdatedEvent",
        ...await envelope(planStream(planId)),
        data: { planId, changes },
      });
    },
    async deletePlan(planId: string) {
      await handleCommand(store, planDecider, planStream(planId), {
        type: "DeletePlan",
        data: { planId, at: clock() },
      }, options());
      return messageOf(TOPICS.plans, planId, {
        type: "PlanDeletedEvent",
        ...await envelope(planStream(planId)),
        data: { planId },
      });
    },
    async createTier(priceTierId: string, planId: string, terms: Partial<PriceTierTerms> = {}) {
      const full: PriceTierTerms = {
        planId,
        name: "Monthly",
        unitAmount: 1500,
        currency: "eur",
        interval: "month",
        intervalCount: 1,
        ...terms,
      };
      await handleCommand(store, priceTierDecider, priceTierStream(priceTierId), {
        type: "CreatePriceTier",
        data: { priceTierId, at: clock(), ...full },
      }, options());
      return messageOf(TOPICS.priceTiers, priceTierId, {
        type: "PriceTierCreatedEvent",
        ...await envelope(priceTierStream(priceTierId)),
        data: { priceTierId, ...full },
      });
    },
    async deleteTier(priceTierId: string, planId: string) {
      await handleCommand(store, priceTierDecider, priceTierStream(priceTierId), {
        type: "DeletePriceTier",
        data: { priceTierId, at: clock() },
      }, options());
      return messageOf(TOPICS.priceTiers, priceTierId, {
        type: "PriceTierDeletedEvent",
        ...await envelope(priceTierStream(priceTierId)),
        data: { priceTierId, planId },
      });
    },
    async createClient(clientId: string, name = "Ada Lovelace", email = "ada@example.com") {
      await handleCommand(store, clientDecider, clientStream(clientId), {
        type: "CreateClient",
        data: { clientId, at: clock(), name, email },
      }, options());
      return messageOf(TOPICS.clients, clientId, {
        type: "ClientCreatedEvent",
        ...await envelope(clientStream(clientId)),
        data: { clientId, name, email },
      });
    },
    async updateClient(clientId: string, changes: ClientChanges) {
      await handleCommand(store, clientDecider, clientStream(clientId), {
        type: "UpdateClient",
        data: { clientId, at: clock(), ...changes },
      }, options());
      return messageOf(TOPICS.clients, clientId, {
        type: "ClientUpdatedEvent",
        ...await envelope(clientStream(clientId)),
        data: { clientId, changes },
      });
    },
  };
};

/** A Gold product with a monthly price of 15.00 usd, made through `gateway` as outbound makes them. */
export const goldMonthly = async (gateway: StripeGateway) => {
  const product = await gateway.createProduct(
    { nudgesPlanId: "plan-1", name: "Gold", description: null, iconUrl: null, active: true },
    "k1",
  );
  const price = await gateway.createPrice({
    nudgesPriceTierId: "tier-1",
    nudgesPlanId: "plan-1",
    stripeProductId: product,
    nickname: null,
    unitAmount: 1500,
    currency: "usd",
    interval: "month",
    intervalCount: 1,
  }, "k2");
  return { product, price };
};
