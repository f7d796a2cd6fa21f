/**
 * Outbound sync: integration events from the bus become Stripe calls (stripe_call.ts),
 * one handler per aggregate. Messages for other consumers pass through untouched.
 * @module
 */
import { DomainError } from "../../domain/decider.ts";
import { type MessageHandler, PermanentFailure } from "../ports/bus.ts";
import type { EventMetadata } from "../ports/event_store.ts";
import { silentLogger } from "../ports/logger.ts";
import { type IntegrationEvent, parseMessage } from "../shared/integration_events.ts";
import { clientCreated, clientUpdated } from "./clients.ts";
import { planSubscriptionCancelRequested } from "./plan_subscriptions.ts";
import { planCreated, planDeleted, planUpdated } from "./plans.ts";
import { priceTierCreated, priceTierDeleted } from "./price_tiers.ts";
import { busMetadata, type OutboundContext, type OutboundDeps } from "./stripe_call.ts";

const dispatch = (ctx: OutboundContext): Promise<void> => {
  const { event } = ctx;
  switch (event.type) {
    case "PlanCreatedEvent":
      return planCreated(ctx, event);
    case "PlanUpdatedEvent":
      return planUpdated(ctx, event);
    case "PlanDeletedEvent":
      return planDeleted(ctx, event);
    case "PriceTierCreatedEvent":
      return priceTierCreated(ctx, event);
    case "PriceTierDeletedEvent":
      return priceTierDeleted(ctx, event);
    case "ClientCreatedEvent":
      return clientCreated(ctx, event);
    case "ClientUpdatedEvent":
      return clientUpdated(ctx, event);
    case "PlanSubscriptionCancelRequestedEvent":
      return planSubscriptionCancelRequested(ctx, event);
    default:
      // Messages for other consumers (StripeProductCreatedEvent, webhooks): not ours.
      return Promise.resolve();
  }
};

/**
 * Makes the Stripe call of one integration event and records its outcome with `metadata`:
 * for a bus message (below), or for reconcile pushing what never reached Stripe.
 */
export const applyOutbound = async (
  deps: OutboundDeps,
  event: IntegrationEvent,
  metadata: Omit<EventMetadata, "eventId">,
): Promise<void> => {
  const logger = (deps.logger ?? silentLogger).with({ eventId: event.eventId, type: event.type });
  try {
    await dispatch({ ...deps, logger, event, metadata });
  } catch (error) {
    // A rule of the domain refused the outcome (say a link to a second product): this
    // message can never succeed.
    if (error instanceof DomainError) {
      throw new PermanentFailure(error.message, { code: error.code });
    }
    throw error;
  }
};

/** Handles one message of TOPICS.plans, priceTiers or clients; throws to have it retried. */
export const outboundHandler = (deps: OutboundDeps): MessageHandler => async (message) => {
  const event = parseMessage(message);
  await applyOutbound(deps, event, busMetadata(message, event));
};
