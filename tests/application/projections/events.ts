// Test support: writes domain events the way the app does (through the command handler), so
// projection tests fold what the write side really records.
import { randomId } from "../../../application/ports/clock.ts";
import { steppingClock } from "../../support/clocks.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { type ClientCommand, clientDecider, clientStream } from "../../../domain/client.ts";
import type { Decider } from "../../../domain/decider.ts";
import {
  type PaymentConfirmationCommand,
  paymentConfirmationDecider,
  paymentConfirmationStream,
} from "../../../domain/payment_confirmation.ts";
import { type PlanCommand, planDecider, planStream } from "../../../domain/plan.ts";
import {
  type PlanSubscriptionCommand,
  planSubscriptionDecider,
  planSubscriptionStream,
} from "../../../domain/plan_subscription.ts";
import {
  type PriceTierCommand,
  priceTierDecider,
  priceTierStream,
} from "../../../domain/price_tier.ts";

export const AT = "2025-03-01T10:00:00.000Z";

export const writer = (store: EventStore) => {
  const clock = steppingClock(AT);
  const run = <C, E extends { type: string; data: unknown }, S>(
    decider: Decider<C, E, S>,
    streamId: string,
    command: C,
  ) =>
    handleCommand(store, decider, streamId, command, {
      metadata: {
        correlationId: "test",
        causationId: "test",
        cause: { kind: "system", reason: "test" },
      },
      newEventId: randomId,
    });
  const at = () => clock();
  return {
    at,
    plan: (planId: string, command: (at: string) => PlanCommand) =>
      run(planDecider, planStream(planId), command(at())),
    createPlan: (planId: string, name = `Plan ${planId}`) =>
      run(planDecider, planStream(planId), {
        type: "CreatePlan",
        data: { planId, at: at(), name, description: null, iconUrl: null },
      }),
    tier: (priceTierId: string, command: (at: string) => PriceTierCommand) =>
      run(priceTierDecider, priceTierStream(priceTierId), command(at())),
    createTier: (priceTierId: string, planId: string, unitAmount = 1000) =>
      run(priceTierDecider, priceTierStream(priceTierId), {
        type: "CreatePriceTier",
        data: {
          priceTierId,
          at: at(),
          planId,
          name: null,
          unitAmount,
          currency: "usd",
          interval: "month",
          intervalCount: 1,
        },
      }),
    client: (clientId: string, command: (at: string) => ClientCommand) =>
      run(clientDecider, clientStream(clientId), command(at())),
    subscription: (id: string, command: (at: string) => PlanSubscriptionCommand) =>
      run(planSubscriptionDecider, planSubscriptionStream(id), command(at())),
    payment: (id: string, command: (at: string) => PaymentConfirmationCommand) =>
      run(paymentConfirmationDecider, paymentConfirmationStream(id), command(at())),
  };
};

/** A client with a paid checkout: a payment confirmation and an active plan subscription. */
export const checkout = async (
  w: ReturnType<typeof writer>,
  ids: { clientId: string; planId: string; priceTierId: string; n: number },
) => {
  const paymentConfirmationId = `pc-${ids.n}`;
  await w.payment(paymentConfirmationId, (at) => ({
    type: "RecordCheckoutPayment",
    data: {
      paymentConfirmationId,
      at,
      stripeEventId: `evt_${ids.n}`,
      stripeEventCreated: 1_740_823_200,
      stripeCheckoutSessionId: `cs_test_${ids.n}`,
      clientId: ids.clientId,
      planId: ids.planId,
      priceTierId: ids.priceTierId,
      amountTotal: 1000,
      currency: "usd",
      paymentStatus: "paid",
    },
  }));
  await w.subscription(`sub-${ids.n}`, (at) => ({
    type: "StartPlanSubscription",
    data: {
      planSubscriptionId: `sub-${ids.n}`,
      at,
      clientId: ids.clientId,
      planId: ids.planId,
      priceTierId: ids.priceTierId,
      stripeSubscriptionId: `sub_stripe_${ids.n}`,
      stripeCustomerId: `cus_${ids.n}`,
      paymentConfirmationId,
      status: "active",
    },
  }));
};
