import assert from "node:assert/strict";
import {
  type PaymentConfirmationCommand,
  paymentConfirmationDecider,
  type PaymentConfirmationEvent,
  paymentConfirmationStream,
  type PaymentStatus,
} from "../../domain/payment_confirmation.ts";
import { spec } from "./decider_spec.ts";

const payment = spec(paymentConfirmationDecider);
const paymentConfirmationId = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b00";
const T = 1721948530;
const at = (s = 0) => new Date((T + s) * 1000).toISOString();
// The Checkout Session of the Stripe fixtures, once completed for the monthly price.
const details = {
  stripeCheckoutSessionId: "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY",
  clientId: "3c9d1e7b-2a4f-4c6e-b8d0-5f1a2e3c4d00",
  planId: "7f1c2a9e-4d0b-4b8e-9a51-2f6d3c8e1a00",
  priceTierId: "0b5e8f3a-61c2-4e1d-8f7a-9d2c4b6a1e00",
  amountTotal: 2000,
  currency: "usd",
};
const stripe = (created: number, n = 1) => ({
  stripeEventId: `evt_1Pgc76B7WZ01zgkWwyRHS1${n}y`,
  stripeEventCreated: created,
});

const record = (paymentStatus: PaymentStatus, created: number, s = 0, n = 1) =>
  ({
    type: "RecordCheckoutPayment",
    data: { paymentConfirmationId, at: at(s), ...stripe(created, n), ...details, paymentStatus },
  }) satisfies PaymentConfirmationCommand;
const recorded = (paymentStatus: PaymentStatus, created: number): PaymentConfirmationEvent => ({
  type: "PaymentConfirmationRecorded",
  data: record(paymentStatus, created).data,
});
const statusChanged = (
  paymentStatus: PaymentStatus,
  created: number,
  s = 0,
  n = 1,
): PaymentConfirmationEvent => ({
  type: "PaymentStatusChanged",
  data: { paymentConfirmationId, at: at(s), ...stripe(created, n), paymentStatus },
});

// RecordCheckoutPayment

Deno.test("decide(RecordCheckoutPayment) records a paid checkout", () =>
  payment.given([]).when(record("paid", T)).then([recorded("paid", T)]));

Deno.test("decide(RecordCheckoutPayment) records a checkout whose payment is still pending", () =>
  payment.given([]).when(record("unpaid", T)).then([recorded("unpaid", T)]));

Deno.test("decide(RecordCheckoutPayment) records the settlement of an unpaid checkout", () =>
  payment.given([recorded("unpaid", T)]).when(record("paid", T + 60, 70, 2))
    .then([statusChanged("paid", T + 60, 70, 2)]));

Deno.test("decide(RecordCheckoutPayment) a settlement in the same second as the checkout applies", () =>
  payment.given([recorded("unpaid", T)]).when(record("paid", T, 1, 2))
    .then([statusChanged("paid", T, 1, 2)]));

Deno.test("decide(RecordCheckoutPayment) the same status again produces no events", () =>
  payment.given([recorded("unpaid", T)]).when(record("unpaid", T + 5, 5, 2)).thenNothing());

Deno.test("decide(RecordCheckoutPayment) a redelivered event produces no events", () =>
  payment.given([recorded("paid", T)]).when(record("paid", T)).thenNothing());

Deno.test("decide(RecordCheckoutPayment) strictly older than the last change does nothing", () =>
  payment.given([recorded("unpaid", T)]).when(record("paid", T - 1, 5, 2)).thenNothing());

Deno.test("decide(RecordCheckoutPayment) a settled payment is never changed again", () => {
  payment.given([recorded("paid", T)]).when(record("unpaid", T + 60, 60, 2)).thenNothing();
  payment.given([recorded("no_payment_required", T)]).when(record("paid", T + 60, 60, 2))
    .thenNothing();
  payment.given([recorded("unpaid", T), statusChanged("paid", T + 60, 60, 2)])
    .when(record("unpaid", T + 90, 90, 3)).thenNothing();
});

// evolve

const recordedState = {
  id: paymentConfirmationId,
  ...details,
  paymentStatus: "unpaid" as const,
  stripePaymentIntentId: null,
  stripeInvoiceId: null,
  problem: null,
  amountRefunded: 0,
  createdAt: at(),
  lastChangedAt: T,
};

Deno.test("evolve() a recorded payment keeps what the checkout said and Stripe's time", () => {
  payment.given([]).thenState(null);
  payment.given([recorded("unpaid", T)]).thenState(recordedState);
});

Deno.test("evolve() a status change moves the payment and its last change", () =>
  payment.given([recorded("unpaid", T), statusChanged("paid", T + 60, 70, 2)]).thenState({
    ...recordedState,
    paymentStatus: "paid",
    lastChangedAt: T + 60,
  }));

const refund = (amountRefunded: number, created: number, n = 3) =>
  ({
    type: "RecordRefund",
    data: { paymentConfirmationId, at: at(200), ...stripe(created, n), amountRefunded },
  }) satisfies PaymentConfirmationCommand;
const refunded = (amountRefunded: number, created: number, n = 3): PaymentConfirmationEvent => ({
  type: "PaymentRefunded",
  data: refund(amountRefunded, created, n).data,
});

Deno.test("decide(RecordRefund) records the refunded total of a settled payment", () =>
  payment.given([recorded("paid", T)]).when(refund(500, T + 100)).then([refunded(500, T + 100)]));

Deno.test("decide(RecordRefund) a total no larger than the one recorded (an older event) changes nothing", () => {
  payment.given([recorded("paid", T), refunded(2000, T + 200)]).when(refund(500, T + 100))
    .thenNothing();
  payment.given([recorded("paid", T), refunded(500, T + 100)]).when(refund(500, T + 100, 4))
    .thenNothing();
});

Deno.test("decide(RecordRefund) refuses a payment that was never recorded", () =>
  payment.given([]).when(refund(500, T)).thenRefused("PaymentConfirmationNotFound", "not_found"));

Deno.test("evolve() a refund sets amountRefunded; what Stripe said of the payment stays", () =>
  payment.given([recorded("paid", T), refunded(700, T + 100)]).thenState({
    ...recordedState,
    paymentStatus: "paid",
    amountRefunded: 700,
  }));

Deno.test("paymentConfirmationStream() names the confirmation's stream", () =>
  assert.equal(
    paymentConfirmationStream(paymentConfirmationId),
    `paymentConfirmation-${paymentConfirmationId}`,
  ));
