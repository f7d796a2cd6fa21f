// Which Nudges object owns a Stripe object that Nudges made. The object's metadata says
// so, but other events name only its id (a price names its product, a checkout session
// its customer), so the owner is also kept in a stream of its own, keyed by the Stripe
// id: one read instead of a search. The first owner recorded stays.
import type { Decider } from "../../domain/decider.ts";
import type { EventStore } from "../ports/event_store.ts";
import { applyOnce, type InboundContext } from "./once.ts";

export const PRODUCT_OWNER_RECORDED = "StripeProductOwnerRecorded";
export const CUSTOMER_OWNER_RECORDED = "StripeCustomerOwnerRecorded";

export const productOwnerStream = (stripeProductId: string): string =>
  `stripeProductOwner-${stripeProductId}`;
export const customerOwnerStream = (stripeCustomerId: string): string =>
  `stripeCustomerOwner-${stripeCustomerId}`;

type ProductOwner = { stripeProductId: string; planId: string };
type CustomerOwner = { stripeCustomerId: string; clientId: string };

const firstOwner = <D>(type: string): Decider<D, { type: string; data: D }, D | null> => ({
  initialState: null,
  decide: (owner, state) => state === null ? [{ type, data: owner }] : [],
  evolve: (state, event) => state ?? event.data,
});
const productOwner = firstOwner<ProductOwner>(PRODUCT_OWNER_RECORDED);
const customerOwner = firstOwner<CustomerOwner>(CUSTOMER_OWNER_RECORDED);

const recordOwner = async <D>(
  ctx: InboundContext,
  decider: Decider<D, { type: string; data: D }, D | null>,
  stream: string,
  owner: D,
): Promise<void> => {
  if ((await ctx.store.readStream(stream)).length > 0) return;
  await applyOnce(ctx, decider, stream, owner, "owner");
};

const firstRecorded = async <D>(store: EventStore, stream: string): Promise<D | null> => {
  const [owner] = await store.readStream(stream);
  return owner ? owner.data as D : null;
};

export const recordProductOwner = (ctx: InboundContext, stripeProductId: string, planId: string) =>
  recordOwner(ctx, productOwner, productOwnerStream(stripeProductId), { stripeProductId, planId });

export const recordCustomerOwner = (
  ctx: InboundContext,
  stripeCustomerId: string,
  clientId: string,
) =>
  recordOwner(ctx, customerOwner, customerOwnerStream(stripeCustomerId), {
    stripeCustomerId,
    clientId,
  });

/** The plan recorded as the owner of a Stripe product Nudges made; null when none is. */
export const recordedPlanOfProduct = async (
  store: EventStore,
  stripeProductId: string,
): Promise<string | null> =>
  (await firstRecorded<ProductOwner>(store, productOwnerStream(stripeProductId)))?.planId ?? null;

/** The client recorded as the owner of a Stripe customer Nudges made; null when none is. */
export const recordedClientOfCustomer = async (
  store: EventStore,
  stripeCustomerId: string,
): Promise<string | null> =>
  (await firstRecorded<CustomerOwner>(store, customerOwnerStream(stripeCustomerId)))?.clientId ??
    null;
