/**
 * Which Nudges object owns a Stripe object that Nudges made. The object's metadata says
 * so, but other events name only its id (a price names its product, a checkout session
 * its customer), so the owner is also kept in a stream of its own, keyed by the Stripe
 * id: one read instead of a search. The first owner recorded stays.
 * @module
 */
import type { Decider, DomainEvent } from "../../domain/decider.ts";
import type { EventStore } from "../ports/event_store.ts";
import { aggregate } from "../shared/command_handler.ts";
import { applyOnce, type InboundContext } from "./context.ts";

export const PRODUCT_OWNER_RECORDED = "StripeProductOwnerRecorded";
export const CUSTOMER_OWNER_RECORDED = "StripeCustomerOwnerRecorded";
export const PAYMENT_OWNER_RECORDED = "StripePaymentOwnerRecorded";

export const productOwnerStream = (stripeProductId: string): string =>
  `stripeProductOwner-${stripeProductId}`;
export const customerOwnerStream = (stripeCustomerId: string): string =>
  `stripeCustomerOwner-${stripeCustomerId}`;

/** A PaymentIntent (pi_…) or Invoice (in_…) of a checkout, and its payment confirmation. */
export const paymentOwnerStream = (stripePaymentId: string): string =>
  `stripePaymentOwner-${stripePaymentId}`;

type PaymentOwner = { stripePaymentId: string; paymentConfirmationId: string };
type ProductOwner = { stripeProductId: string; planId: string };
type CustomerOwner = { stripeCustomerId: string; clientId: string };
type RecordOwner<D> = { type: "RecordOwner"; data: D };

const firstOwner = <D>(
  type: string,
): Decider<RecordOwner<D>, DomainEvent<string, D>, D | null> => ({
  initialState: () => null,
  decide: (command, state) => state === null ? [{ type, data: command.data }] : [],
  evolve: (state, event) => state ?? event.data,
});

const productOwners = aggregate(
  firstOwner<ProductOwner>(PRODUCT_OWNER_RECORDED),
  productOwnerStream,
  (command) => command.data.stripeProductId,
);
const customerOwners = aggregate(
  firstOwner<CustomerOwner>(CUSTOMER_OWNER_RECORDED),
  customerOwnerStream,
  (command) => command.data.stripeCustomerId,
);

const paymentOwners = aggregate(
  firstOwner<PaymentOwner>(PAYMENT_OWNER_RECORDED),
  paymentOwnerStream,
  (command) => command.data.stripePaymentId,
);

/** Records which payment confirmation a checkout's PaymentIntent or Invoice belongs to. */
export const recordPaymentOwner = async (
  ctx: InboundContext,
  stripePaymentId: string,
  paymentConfirmationId: string,
): Promise<void> => {
  await applyOnce(ctx, paymentOwners, {
    type: "RecordOwner",
    data: { stripePaymentId, paymentConfirmationId },
  }, "owner");
};

/** The payment confirmation of a checkout's PaymentIntent or Invoice; null when none. */
export const recordedPaymentOf = async (
  store: EventStore,
  stripePaymentId: string,
): Promise<string | null> =>
  (await paymentOwners.read(store, stripePaymentId)).state?.paymentConfirmationId ?? null;

export const recordProductOwner = async (
  ctx: InboundContext,
  stripeProductId: string,
  planId: string,
): Promise<void> => {
  await applyOnce(ctx, productOwners, {
    type: "RecordOwner",
    data: { stripeProductId, planId },
  }, "owner");
};

export const recordCustomerOwner = async (
  ctx: InboundContext,
  stripeCustomerId: string,
  clientId: string,
): Promise<void> => {
  await applyOnce(ctx, customerOwners, {
    type: "RecordOwner",
    data: { stripeCustomerId, clientId },
  }, "owner");
};

/** The plan recorded as the owner of a Stripe product Nudges made; null when none is. */
export const recordedPlanOfProduct = async (
  store: EventStore,
  stripeProductId: string,
): Promise<string | null> =>
  (await productOwners.read(store, stripeProductId)).state?.planId ?? null;

/** The client recorded as the owner of a Stripe customer Nudges made; null when none is. */
export const recordedClientOfCustomer = async (
  store: EventStore,
  stripeCustomerId: string,
): Promise<string | null> =>
  (await customerOwners.read(store, stripeCustomerId)).state?.clientId ?? null;
