/**
 * PaymentConfirmation: what a completed Stripe Checkout Session says was paid, what was
 * refunded of it since, and what does not add up (a price Nudges does not sell, an
 * amount other than the tier's), for a person to look at.
 * @module
 */
import { type Decider, notFound, unreachable } from "./decider.ts";
import { isStale, type StripeChange } from "./stripe_time.ts";

/** Stripe's Checkout Session payment_status. */
export type PaymentStatus = "paid" | "unpaid" | "no_payment_required";

export type PaymentDetails = {
  stripeCheckoutSessionId: string;
  clientId: string | null;
  planId: string | null;
  priceTierId: string | null;
  amountTotal: number | null;
  currency: string | null;
  paymentStatus: PaymentStatus;
  /** The Checkout's PaymentIntent (payment mode) and first Invoice (subscription mode). */
  stripePaymentIntentId?: string | null;
  stripeInvoiceId?: string | null;
  /** What does not add up; null when all is well. */
  problem?: PaymentProblem | null;
};

export type PaymentProblem = {
  code: "UnknownPrice" | "AmountMismatch";
  message: string;
};

export type PaymentConfirmation = Required<PaymentDetails> & {
  id: string;
  /** Refunded so far, in the currency's minor unit. */
  amountRefunded: number;
  createdAt: string;
  lastChangedAt: number;
};
export type PaymentConfirmationState = PaymentConfirmation | null;

type At = { paymentConfirmationId: string; at: string };

export type PaymentConfirmationCommand =
  | { type: "RecordCheckoutPayment"; data: At & StripeChange & PaymentDetails }
  /** Stripe's charge.refunded: `amountRefunded` is the charge's total refunded so far. */
  | { type: "RecordRefund"; data: At & StripeChange & { amountRefunded: number } };

export type PaymentConfirmationEvent =
  | { type: "PaymentConfirmationRecorded"; data: At & StripeChange & PaymentDetails }
  | {
    type: "PaymentStatusChanged";
    data: At & StripeChange & { paymentStatus: PaymentStatus };
  }
  | { type: "PaymentRefunded"; data: At & StripeChange & { amountRefunded: number } };

/** Settled: no later Checkout event can change it. */
export const isSettled = (state: PaymentConfirmationState): boolean =>
  state !== null && state.paymentStatus !== "unpaid";

export const decide = (
  command: PaymentConfirmationCommand,
  state: PaymentConfirmationState,
): PaymentConfirmationEvent[] => {
  switch (command.type) {
    case "RecordRefund": {
      const { data } = command;
      if (state === null) {
        throw notFound("PaymentConfirmationNotFound", `no payment ${data.paymentConfirmationId}`);
      }
      // A total that only grows: the largest one Stripe reported is the latest, in any order.
      return data.amountRefunded > state.amountRefunded ? [{ type: "PaymentRefunded", data }] : [];
    }
    case "RecordCheckoutPayment": {
      const { data } = command;
      if (state === null) return [{ type: "PaymentConfirmationRecorded", data }];
      if (
        isSettled(state) || state.paymentStatus === data.paymentStatus ||
        isStale(data.stripeEventCreated, state.lastChangedAt)
      ) return [];
      const { paymentConfirmationId, at, stripeEventId, stripeEventCreated, paymentStatus } = data;
      return [{
        type: "PaymentStatusChanged",
        data: { paymentConfirmationId, at, stripeEventId, stripeEventCreated, paymentStatus },
      }];
    }
    default:
      return unreachable(command);
  }
};

export const evolve = (
  state: PaymentConfirmationState,
  event: PaymentConfirmationEvent,
): PaymentConfirmationState => {
  switch (event.type) {
    case "PaymentConfirmationRecorded": {
      const { paymentConfirmationId, at, stripeEventId: _, stripeEventCreated, ...details } =
        event.data;
      return {
        id: paymentConfirmationId,
        // Recorded before these were: none known.
        stripePaymentIntentId: null,
        stripeInvoiceId: null,
        problem: null,
        ...details,
        amountRefunded: 0,
        createdAt: at,
        lastChangedAt: stripeEventCreated,
      };
    }
    case "PaymentStatusChanged":
      return state && {
        ...state,
        paymentStatus: event.data.paymentStatus,
        lastChangedAt: Math.max(state.lastChangedAt, event.data.stripeEventCreated),
      };
    case "PaymentRefunded":
      return state && { ...state, amountRefunded: event.data.amountRefunded };
    default:
      return unreachable(event);
  }
};

export const paymentConfirmationDecider: Decider<
  PaymentConfirmationCommand,
  PaymentConfirmationEvent,
  PaymentConfirmationState
> = { initialState: () => null, decide, evolve };

export const paymentConfirmationStream = (id: string): string => `paymentConfirmation-${id}`;
