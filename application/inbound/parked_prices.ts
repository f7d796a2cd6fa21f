/**
 * A Dashboard price whose product no plan owns yet. It cannot wait on the bus: the
 * product's event may be behind it in the same partition, so retrying it in place only
 * ends in the dead-letter topic. It is parked instead, in a stream per product, and its
 * message is done; whoever makes a plan own the product applies what is parked there.
 * Both sides write first and read second (the price handler parks, then looks for the
 * owner; the product handler records the owner, then reads what is parked), so with a
 * linearizable store at least one of them sees the other and the price is not left
 * behind. Applying twice is harmless: each parked price applies under ids derived from
 * its own Stripe event id.
 * @module
 */
import { type Decider, unreachable } from "../../domain/decider.ts";
import type { EventStore } from "../ports/event_store.ts";
import { aggregate } from "../shared/command_handler.ts";
import { applyOnce, type InboundContext } from "./context.ts";

export const PRICE_PARKED = "StripePriceParked";
export const PARKED_PRICE_APPLIED = "StripeParkedPriceApplied";

export const productPendingStream = (stripeProductId: string): string =>
  `stripeProductPending-${stripeProductId}`;

type Parked = {
  stripeProductId: string;
  stripeEventId: string;
  stripeEventType: string;
  created: number;
  event: Record<string, unknown>;
};
type Applied = { stripeProductId: string; stripeEventId: string };

type PendingCommand =
  | { type: "ParkPrice"; data: Parked }
  | { type: "MarkParkedPriceApplied"; data: Applied };
type PendingEvent =
  | { type: typeof PRICE_PARKED; data: Parked }
  | { type: typeof PARKED_PRICE_APPLIED; data: Applied };
/** Stripe event ids: every price parked, and those of them applied since. */
type PendingState = { parked: ReadonlySet<string>; applied: ReadonlySet<string> };

const pendingDecider: Decider<PendingCommand, PendingEvent, PendingState> = {
  initialState: () => ({ parked: new Set(), applied: new Set() }),
  decide: (command, state) => {
    switch (command.type) {
      case "ParkPrice":
        return state.parked.has(command.data.stripeEventId)
          ? []
          : [{ type: PRICE_PARKED, data: command.data }];
      case "MarkParkedPriceApplied":
        return state.applied.has(command.data.stripeEventId)
          ? []
          : [{ type: PARKED_PRICE_APPLIED, data: command.data }];
      default:
        return unreachable(command);
    }
  },
  evolve: (state, event) => {
    switch (event.type) {
      case PRICE_PARKED:
        return { ...state, parked: new Set(state.parked).add(event.data.stripeEventId) };
      case PARKED_PRICE_APPLIED:
        return { ...state, applied: new Set(state.applied).add(event.data.stripeEventId) };
      default:
        return unreachable(event);
    }
  },
};

const pendingPrices = aggregate(
  pendingDecider,
  productPendingStream,
  (command) => command.data.stripeProductId,
);

/** Parks the price event of `ctx` until a plan owns its product. */
export const parkPrice = async (ctx: InboundContext, stripeProductId: string): Promise<void> => {
  await applyOnce(ctx, pendingPrices, {
    type: "ParkPrice",
    data: {
      stripeProductId,
      stripeEventId: ctx.stripeEventId,
      stripeEventType: ctx.stripeEventType,
      created: ctx.created,
      event: ctx.event,
    },
  }, "park");
};

/**
 * The price events parked for a product and not applied yet, oldest first, each as the
 * context of its own Stripe event: what it applies is caused by that event, not by the
 * product event that released it.
 */
export const parkedPrices = async (
  { store, clock }: { store: EventStore; clock: InboundContext["clock"] },
  stripeProductId: string,
): Promise<InboundContext[]> => {
  const { state, recorded } = await pendingPrices.read(store, stripeProductId);
  return recorded.flatMap((e) => {
    if (e.type !== PRICE_PARKED || state.applied.has(e.data.stripeEventId)) return [];
    const { stripeEventId, stripeEventType, created, event } = e.data;
    const { eventId: _, ...metadata } = e.metadata;
    return [{ store, clock, stripeEventId, stripeEventType, created, event, metadata }];
  });
};

/** The parked price event of `parked` has been applied: later product events skip it. */
export const markParkedPriceApplied = async (
  parked: InboundContext,
  stripeProductId: string,
): Promise<void> => {
  await applyOnce(parked, pendingPrices, {
    type: "MarkParkedPriceApplied",
    data: { stripeProductId, stripeEventId: parked.stripeEventId },
  }, "applied");
};
