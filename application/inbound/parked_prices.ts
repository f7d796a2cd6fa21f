/**
 * A Dashboard price whose product no plan owns yet waits parked (parking.ts) in a stream
 * per product, until a product event makes a plan own it.
 * @module
 */
import type { InboundContext } from "./context.ts";
import { parkingLot } from "./parking.ts";

export const PRICE_PARKED = "StripePriceParked";
export const PARKED_PRICE_APPLIED = "StripeParkedPriceApplied";

const lot = parkingLot({
  category: "stripeProductPending",
  keyField: "stripeProductId",
  parkedType: PRICE_PARKED,
  appliedType: PARKED_PRICE_APPLIED,
});

export const productPendingStream: (stripeProductId: string) => string = lot.stream;

/** Parks the price event of `ctx` until a plan owns its product. */
export const parkPrice = (ctx: InboundContext, stripeProductId: string): Promise<void> =>
  lot.park(ctx, stripeProductId);

/** The price events parked for a product and not applied yet, oldest first. */
export const parkedPrices: ParkedOf = (deps, stripeProductId) => lot.waiting(deps, stripeProductId);

/** The parked price event of `parked` has been applied: later product events skip it. */
export const markParkedPriceApplied = (
  parked: InboundContext,
  stripeProductId: string,
): Promise<void> => lot.markApplied(parked, stripeProductId);

type ParkedOf = (
  deps: Parameters<typeof lot.waiting>[0],
  key: string,
) => Promise<InboundContext[]>;
