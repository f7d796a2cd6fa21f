/**
 * What the commands of one Stripe event share, and how each is applied: through the one
 * command handler, once per Stripe event (ids derived from the event's id, so a
 * redelivered event finds its own events in the stream and skips the command).
 * @module
 */
import type { DomainEvent } from "../../domain/decider.ts";
import type { Clock } from "../ports/clock.ts";
import type { EventMetadata, EventStore } from "../ports/event_store.ts";
import type { Logger } from "../ports/logger.ts";
import type { StripeGateway } from "../ports/stripe_gateway.ts";
import type { Aggregate, CommandResult } from "../shared/command_handler.ts";

export type InboundContext = {
  store: EventStore;
  clock: Clock;
  stripeEventId: string;
  stripeEventType: string;
  /** Stripe's `created` of the event, whole seconds: the domain's stale guard. */
  created: number;
  /** The Stripe event as Stripe sent it. */
  event: Record<string, unknown>;
  metadata: Omit<EventMetadata, "eventId">;
  /** For what the event itself does not say (a Checkout Session's line items). */
  gateway?: StripeGateway;
  logger?: Logger;
};

/**
 * Runs `command` unless this Stripe event already did; `step` tells apart several
 * commands of one event on one stream.
 */
export const applyOnce = <C, E extends DomainEvent, S>(
  ctx: InboundContext,
  target: Aggregate<C, E, S>,
  command: C,
  step: string,
): Promise<CommandResult<E, S>> =>
  target.handle(ctx.store, command, {
    metadata: ctx.metadata,
    once: { scope: "stripeEffect", cause: ctx.stripeEventId, step },
  });

/** The time and Stripe event of a change that came from Stripe. */
export const stripeChange = (ctx: InboundContext) => ({
  at: ctx.clock(),
  stripeEventId: ctx.stripeEventId,
  stripeEventCreated: ctx.created,
});
