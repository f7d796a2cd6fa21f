import assert from "node:assert/strict";
import {
  type PlanSubscriptionCommand,
  planSubscriptionDecider,
  type PlanSubscriptionEvent,
  planSubscriptionStream,
} from "../../domain/plan_subscription.ts";
import { fold } from "../../domain/decider.ts";
import { spec } from "./decider_spec.ts";

const subscription = spec(planSubscriptionDecider);
const planSubscriptionId = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c00";
const at = (s = 0) => new Date((1721948530 + s) * 1000).toISOString();
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

// StartPlanSubscription

Deno.test("decide(StartPlanSubscription) starts an active subscription for a paid checkout", () =>
  subscription.given([]).when(start("active")).then([started("active")]));

Deno.test("decide(StartPlanSubscription) starts a pending subscription while payment settles", () =>
  subscription.given([]).when(start("pending")).then([started("pending")]));

Deno.test("decide(StartPlanSubscription) a redelivered checkout produces no events", () => {
  subscription.given([started("pending")]).when(start("pending")).thenNothing();
  subscription.given([started("pending"), activated]).when(start("active")).thenNothing();
  subscription.given([started("active"), canceled]).when(start("active")).thenNothing();
});

// ActivatePlanSubscription

Deno.test("decide(ActivatePlanSubscription) activates a pending subscription", () =>
  subscription.given([started("pending")]).when(activate).then([activated]));

Deno.test("decide(ActivatePlanSubscription) on an active subscription produces no events", () =>
  subscription.given([started("active")]).when(activate).thenNothing());

Deno.test("decide(ActivatePlanSubscription) refuses a canceled subscription", () =>
  subscription.given([started("pending"), canceled]).when(activate).thenRefused(
    "PlanSubscriptionCanceled",
    "conflict",
  ));

Deno.test("decide(ActivatePlanSubscription) refuses a subscription that does not exist", () =>
  subscription.given([]).when(activate).thenRefused("PlanSubscriptionNotFound", "not_found"));

// CancelPlanSubscription

Deno.test("decide(CancelPlanSubscription) cancels an active or pending subscription", () => {
  subscription.given([started("active")]).when(cancel).then([canceled]);
  subscription.given([started("pending")]).when(cancel).then([canceled]);
});

Deno.test("decide(CancelPlanSubscription) on a canceled subscription produces no events", () =>
  subscription.given([started("active"), canceled]).when(cancel).thenNothing());

Deno.test("decide(CancelPlanSubscription) refuses a subscription that does not exist", () =>
  subscription.given([]).when(cancel).thenRefused("PlanSubscriptionNotFound", "not_found"));

// evolve

const startedState = {
  id: planSubscriptionId,
  ...terms,
  status: "pending" as const,
  createdAt: at(),
  updatedAt: at(),
};

Deno.test("evolve() status goes pending, active, canceled", () => {
  subscription.given([]).thenState(null);
  subscription.given([started("pending")]).thenState(startedState);
  subscription.given([started("pending"), activated]).thenState({
    ...startedState,
    status: "active",
    updatedAt: at(5),
  });
  subscription.given([started("pending"), activated, canceled]).thenState({
    ...startedState,
    status: "canceled",
    updatedAt: at(9),
  });
});

Deno.test("isTerminal() a canceled subscription's stream has ended", () => {
  const isTerminal = planSubscriptionDecider.isTerminal!;
  assert.equal(isTerminal(fold(planSubscriptionDecider, [])), false);
  assert.equal(isTerminal(fold(planSubscriptionDecider, [started("active")])), false);
  assert.equal(isTerminal(fold(planSubscriptionDecider, [started("active"), canceled])), true);
});

Deno.test("planSubscriptionStream() names the subscription's stream", () =>
  assert.equal(
    planSubscriptionStream(planSubscriptionId),
    `planSubscription-${planSubscriptionId}`,
  ));
