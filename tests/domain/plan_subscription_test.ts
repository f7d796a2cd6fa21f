import assert from "node:assert/strict";
import { fold } from "../../domain/decider.ts";
import { grantsAccess } from "../../domain/plan_access.ts";
import {
  type PlanSubscriptionCommand,
  planSubscriptionDecider,
  type PlanSubscriptionEvent,
  planSubscriptionStream,
  type StripeSubscriptionState,
} from "../../domain/plan_subscription.ts";
import { spec } from "./decider_spec.ts";

const subscription = spec(planSubscriptionDecider);
const planSubscriptionId = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c00";
const T = 1721948530;
const at = (s = 0) => new Date((T + s) * 1000).toISOString();
const terms = {
  clientId: "3c9d1e7b-2a4f-4c6e-b8d0-5f1a2e3c4d00",
  planId: "7f1c2a9e-4d0b-4b8e-9a51-2f6d3c8e1a00",
  priceTierId: "0b5e8f3a-61c2-4e1d-8f7a-9d2c4b6a1e00",
  stripeSubscriptionId: "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
  stripeCustomerId: "cus_QXg1o8vcGmoR32",
  paymentConfirmationId: "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b00",
};

const start = (status: "active" | "pending"): PlanSubscriptionCommand => ({
  type: "StartPlanSubscription",
  data: { planSubscriptionId, at: at(), ...terms, status },
});
const started = (status: "active" | "pending"): PlanSubscriptionEvent => ({
  type: "PlanSubscriptionStarted",
  data: { planSubscriptionId, at: at(), ...terms, status },
});
const activate: PlanSubscriptionCommand = {
  type: "ActivatePlanSubscription",
  data: { planSubscriptionId, at: at(5) },
};
const activated: PlanSubscriptionEvent = {
  type: "PlanSubscriptionActivated",
  data: { planSubscriptionId, at: at(5) },
};
const cancel: PlanSubscriptionCommand = {
  type: "CancelPlanSubscription",
  data: { planSubscriptionId, at: at(9) },
};
const canceled: PlanSubscriptionEvent = {
  type: "PlanSubscriptionCanceled",
  data: { planSubscriptionId, at: at(9) },
};

/** Stripe's word at second T + s, as event evt_<s>. */
const change = (s: number) => ({
  planSubscriptionId,
  at: at(s + 1000),
  stripeEventId: `evt_${s}`,
  stripeEventCreated: T + s,
});
const PERIOD_END = at(30 * 86400);
const stripeSays = (
  s: number,
  state: Partial<StripeSubscriptionState> = {},
): PlanSubscriptionCommand => ({
  type: "ApplyStripeSubscription",
  data: {
    ...change(s),
    ...terms,
    paymentConfirmationId: null,
    status: "active",
    currentPeriodEnd: PERIOD_END,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    ...state,
  },
});
const invoice = (s: number, outcome: "paid" | "payment_failed"): PlanSubscriptionCommand => ({
  type: "RecordInvoice",
  data: {
    ...change(s),
    stripeInvoiceId: `in_${s}`,
    outcome,
    amount: 2000,
    periodEnd: PERIOD_END,
  },
});
/** The events a command decides after `history`. */
const after = (history: PlanSubscriptionEvent[], command: PlanSubscriptionCommand) =>
  planSubscriptionDecider.decide(command, fold(planSubscriptionDecider, history));

// From the checkout

Deno.test("decide(StartPlanSubscription) starts an active subscription for a paid checkout, pending while payment settles", () => {
  subscription.given([]).when(start("active")).then([started("active")]);
  subscription.given([]).when(start("pending")).then([started("pending")]);
});

Deno.test("decide(StartPlanSubscription) a redelivered checkout produces no events", () => {
  subscription.given([started("pending")]).when(start("pending")).thenNothing();
  subscription.given([started("pending"), activated]).when(start("active")).thenNothing();
});

Deno.test("decide(StartPlanSubscription) after Stripe's import links the checkout, status untouched", () => {
  const imported = after([], stripeSays(10, { status: "trialing" }));
  subscription.given(imported).when(start("active")).then([{
    type: "PlanSubscriptionCheckoutLinked",
    data: { planSubscriptionId, at: at(), ...terms },
  }]);
  const linked = [...imported, ...after(imported, start("active"))];
  assert.equal(fold(planSubscriptionDecider, linked)?.status, "trialing");
  assert.equal(
    fold(planSubscriptionDecider, linked)?.paymentConfirmationId,
    terms.paymentConfirmationId,
  );
});

Deno.test("decide(ActivatePlanSubscription) activates a pending subscription; refuses a canceled one", () => {
  subscription.given([started("pending")]).when(activate).then([activated]);
  subscription.given([started("active")]).when(activate).thenNothing();
  subscription.given([started("pending"), canceled]).when(activate)
    .thenRefused("PlanSubscriptionCanceled", "conflict");
  subscription.given([]).when(activate).thenRefused("PlanSubscriptionNotFound", "not_found");
});

Deno.test("decide(Activate|CancelPlanSubscription) change nothing once Stripe's subscription events tell the status", () => {
  const following = [
    started("pending"),
    ...after([started("pending")], stripeSays(10, { status: "incomplete" })),
  ];
  subscription.given(following).when(activate).thenNothing();
  subscription.given(following).when(cancel).thenNothing();
});

Deno.test("decide(CancelPlanSubscription) cancels a checkout whose delayed payment failed", () => {
  subscription.given([started("pending")]).when(cancel).then([canceled]);
  subscription.given([started("active"), canceled]).when(cancel).thenNothing();
  subscription.given([]).when(cancel).thenRefused("PlanSubscriptionNotFound", "not_found");
});

// What Stripe says of its Subscription

Deno.test("decide(ApplyStripeSubscription) imports a subscription Nudges does not know", () =>
  subscription.given([]).when(stripeSays(10)).then([{
    type: "PlanSubscriptionImportedFromStripe",
    data: (stripeSays(10).data as object) as never,
  }]));

Deno.test("decide(ApplyStripeSubscription) records each difference as its own fact", () => {
  const history = [started("active")];
  subscription.given(history).when(
    stripeSays(10, { status: "past_due", cancelAtPeriodEnd: true }),
  ).then([
    {
      type: "PlanSubscriptionPeriodRenewed",
      data: { ...change(10), currentPeriodEnd: PERIOD_END },
    },
    { type: "PlanSubscriptionCancelScheduled", data: change(10) },
    { type: "PlanSubscriptionStatusChanged", data: { ...change(10), status: "past_due" } },
  ]);
  subscription.given(history).when(stripeSays(10, { status: "canceled", canceledAt: at(10) }))
    .then([
      {
        type: "PlanSubscriptionPeriodRenewed",
        data: { ...change(10), currentPeriodEnd: PERIOD_END },
      },
      { type: "PlanSubscriptionCanceled", data: { ...change(10), canceledAt: at(10) } },
    ]);
});

Deno.test("decide(ApplyStripeSubscription) an event older than the last applied changes nothing", () => {
  const history = after([], stripeSays(20, { status: "past_due" }));
  subscription.given(history).when(stripeSays(10, { status: "active" })).thenNothing();
});

Deno.test("decide(ApplyStripeSubscription) a newer event that changes nothing still counts as the latest word", () => {
  const history = after([], stripeSays(10));
  subscription.given(history).when(stripeSays(30)).then([
    { type: "PlanSubscriptionConfirmedByStripe", data: change(30) },
  ]);
  // So an event from in between, delivered last, stays stale.
  const confirmed = [...history, ...after(history, stripeSays(30))];
  subscription.given(confirmed).when(stripeSays(20, { status: "past_due" })).thenNothing();
});

// Invoices

Deno.test("decide(RecordInvoice) records paid and failed payments, older ones not over newer", () => {
  const history = after([], stripeSays(10));
  const paid = after(history, invoice(20, "paid"));
  assert.deepEqual(paid.map((e) => e.type), ["PlanSubscriptionInvoicePaid"]);
  const failed = after([...history, ...paid], invoice(40, "payment_failed"));
  assert.deepEqual(failed.map((e) => e.type), ["PlanSubscriptionPaymentFailed"]);
  subscription.given([...history, ...failed]).when(invoice(20, "paid")).thenNothing();
  const state = fold(planSubscriptionDecider, [...history, ...paid, ...failed]);
  assert.deepEqual(
    state && [state.latestPayment, state.latestPaymentAt, state.status],
    ["payment_failed", at(40), "active"],
  );
});

// Cancels Nudges asks for

const request = (immediately: boolean): PlanSubscriptionCommand => ({
  type: "RequestPlanSubscriptionCancel",
  data: { planSubscriptionId, at: at(50), immediately },
});
const requested = (immediately: boolean): PlanSubscriptionEvent => ({
  type: "PlanSubscriptionCancelRequested",
  data: {
    planSubscriptionId,
    at: at(50),
    immediately,
    stripeSubscriptionId: terms.stripeSubscriptionId,
  },
});

Deno.test("decide(RequestPlanSubscriptionCancel) records the intent with the Stripe subscription", () => {
  subscription.given([started("active")]).when(request(false)).then([requested(false)]);
  subscription.given([started("active"), requested(false)]).when(request(true)).then([
    requested(true),
  ]);
  subscription.given([started("active"), requested(false)]).when(request(false)).thenNothing();
  subscription.given([started("active"), requested(true)]).when(request(false)).thenNothing();
});

Deno.test("decide(RequestPlanSubscriptionCancel) refuses a canceled subscription and a one-time purchase", () => {
  subscription.given([started("active"), canceled]).when(request(false))
    .thenRefused("PlanSubscriptionCanceled", "conflict");
  const oneTime: PlanSubscriptionEvent = {
    type: "PlanSubscriptionStarted",
    data: { planSubscriptionId, at: at(), ...terms, stripeSubscriptionId: null, status: "active" },
  };
  subscription.given([oneTime]).when(request(false))
    .thenRefused("PlanSubscriptionNotRecurring", "invalid");
  subscription.given([]).when(request(false)).thenRefused("PlanSubscriptionNotFound", "not_found");
});

Deno.test("evolve() Stripe's confirmation ends the request; a refusal keeps Stripe's message", () => {
  const history = [started("active"), requested(false)];
  assert.deepEqual(fold(planSubscriptionDecider, history)?.cancelRequested, {
    immediately: false,
    at: at(50),
  });
  const confirmed = [...history, ...after(history, stripeSays(60, { cancelAtPeriodEnd: true }))];
  const state = fold(planSubscriptionDecider, confirmed);
  assert.deepEqual(state && [state.cancelRequested, state.cancelAtPeriodEnd], [null, true]);
  const refusal: PlanSubscriptionEvent = {
    type: "PlanSubscriptionCancelRefused",
    data: { planSubscriptionId, at: at(55), error: "No such subscription" },
  };
  const refused = fold(planSubscriptionDecider, [...history, refusal]);
  assert.deepEqual(refused && [refused.cancelRequested, refused.cancelError], [
    null,
    "No such subscription",
  ]);
});

// Any order

const LIFE: PlanSubscriptionCommand[] = [
  stripeSays(10, { status: "active" }), // customer.subscription.created
  invoice(11, "paid"),
  stripeSays(40, { status: "past_due" }),
  invoice(41, "payment_failed"),
  stripeSays(50, { status: "active", currentPeriodEnd: at(60 * 86400) }),
  stripeSays(70, { status: "canceled", canceledAt: at(70), currentPeriodEnd: at(60 * 86400) }),
];

const permutations = <T>(items: T[]): T[][] =>
  items.length <= 1
    ? [items]
    : items.flatMap((item, i) =>
      permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest])
    );

Deno.test("decide() one life in every order ends in the same state", () => {
  const run = (commands: PlanSubscriptionCommand[]) => {
    const events: PlanSubscriptionEvent[] = [];
    // Invoices wait until the subscription is known, as the inbound side parks them.
    const parked: PlanSubscriptionCommand[] = [];
    for (const command of commands) {
      const known = fold(planSubscriptionDecider, events) !== null;
      if (command.type === "RecordInvoice" && !known) parked.push(command);
      else events.push(...after(events, command));
      if (fold(planSubscriptionDecider, events) !== null) {
        for (const waiting of parked.splice(0)) events.push(...after(events, waiting));
      }
    }
    // When Nudges recorded it differs by order; what Stripe said does not.
    const { updatedAt: _, createdAt: __, ...state } = fold(planSubscriptionDecider, events)!;
    return state;
  };
  const expected = run(LIFE);
  assert.equal(expected.status, "canceled");
  assert.equal(expected.latestPayment, "payment_failed");
  for (const order of permutations(LIFE)) assert.deepEqual(run(order), expected);
});

// Access

Deno.test("grantsAccess() active or trialing within the paid period, or a paid one-time purchase", () => {
  const base = fold(planSubscriptionDecider, after([], stripeSays(10)))!;
  const before = at(29 * 86400);
  const afterEnd = at(31 * 86400);
  assert.equal(grantsAccess(base, before), true);
  assert.equal(grantsAccess(base, afterEnd), false);
  assert.equal(grantsAccess({ ...base, status: "trialing" }, before), true);
  for (const status of ["past_due", "unpaid", "canceled", "paused", "incomplete"] as const) {
    assert.equal(grantsAccess({ ...base, status }, before), false, status);
  }
  const oneTime = { ...base, stripeSubscriptionId: null, currentPeriodEnd: null };
  assert.equal(grantsAccess(oneTime, afterEnd), true);
  assert.equal(grantsAccess({ ...oneTime, status: "pending" }, afterEnd), false);
});

Deno.test("planSubscriptionStream() names the subscription's stream", () =>
  assert.equal(
    planSubscriptionStream(planSubscriptionId),
    `planSubscription-${planSubscriptionId}`,
  ));
