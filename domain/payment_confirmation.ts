/**
 * PaymentConfirmation: what a completed Stripe Checkout Session says was paid.
 * @module
 */
import { type Decider, unreachable } from "./decider.ts";
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
};

export type PaymentConfirmation = PaymentDetails & {
  id: string;
  createdAt: string;
  lastChangedAt: number;
};
export type PaymentConfirmationState = PaymentConfirmation | null;

type At = { paymentConfirmationId: string; at: string };

export type PaymentConfirmationCommand = {
  type: "RecordCheckoutPayment";
  data: At & StripeChange & PaymentDetails;
};

export type PaymentConfirmationEvent =
  | { type: "PaymentConfirmationRecorded"; data: At & StripeChange & PaymentDetails }
  | {
    type: "PaymentStatusChanged";
    data: At & StripeChange & { paymentStatus: PaymentStatus };
  };

/** Settled: no later Checkout event can change it. */
export const isSettled = (state: PaymentConfirmationState): boolean =>
  state !== null && state.paymentStatus !== "unpaid";

export const decide = (
  command: PaymentConfirmationCommand,
  state: PaymentConfirmationState,
): PaymentConfirmationEvent[] => {
  switch (command.type) {
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
      return unreachable(command.type);
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
        ...details,
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
    default:
      return unreachable(event);
  }
};

export const paymentConfirmationDecider: Decider<
  PaymentConfirmationCommand,
  PaymentConfirmationEvent,
  PaymentConfirmationState
> = { initialState: () => null, decide, evolve, isTerminal: isSettled };

export const paymentConfirmationStream = (id: string): string => `paymentConfirmation-${id}`;
