/**
 * The later steps of `deno task checkout`: paying (or abandoning) a Checkout Session that
 * createCheckoutSession made, and a subscription's life in the simulator (a renewal, a
 * failed renewal, a cancellation), each posting the webhooks Stripe would; each waits
 * until the plan subscription shows the change in GraphQL and prints it.
 * @module
 */
import { DevCommandError, type DevRun, waitFor } from "./dev_client.ts";

export type Subscription = {
  id: string;
  status: string;
  planId: string | null;
  stripeSubscriptionId: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  latestPayment: string | null;
  updatedAt: string;
  paymentConfirmation: {
    id: string;
    stripeCheckoutSessionId: string;
    paymentStatus: string;
    problem: string | null;
  } | null;
};

const FIELDS = `id status planId stripeSubscriptionId currentPeriodEnd cancelAtPeriodEnd
  latestPayment updatedAt
  paymentConfirmation { id stripeCheckoutSessionId paymentStatus problem }`;

export const planSubscriptions = async (run: DevRun, clientId?: string) =>
  (await run.graphql<{ planSubscriptions: Subscription[] }>(
    `query ($client: ID) { planSubscriptions(clientId: $client) { ${FIELDS} } }`,
    { client: clientId ?? null },
  )).planSubscriptions;

export const describe = (s: Subscription): string =>
  `plan subscription ${s.id}: ${s.status} (plan ${s.planId}, ${
    s.stripeSubscriptionId ?? "one-time"
  }` +
  `${s.currentPeriodEnd ? `, paid until ${s.currentPeriodEnd}` : ""}` +
  `${s.cancelAtPeriodEnd ? ", ends then" : ""}` +
  `${s.latestPayment ? `, latest payment ${s.latestPayment}` : ""})`;

/** Pays (or abandons) Checkout Session `sessionId` as its customer would on the page. */
export const settleSession = async (
  run: DevRun,
  sessionId: string,
  { abandon, paymentStatus }: { abandon: boolean; paymentStatus?: string },
) => {
  if (abandon) {
    await run.simulator(`checkout_sessions/${encodeURIComponent(sessionId)}/expire`, {});
    console.log(`checkout session ${sessionId} abandoned: it expired, nothing was bought`);
    return;
  }
  const session = await run.simulator(
    `checkout_sessions/${encodeURIComponent(sessionId)}/complete`,
    paymentStatus ? { paymentStatus } : {},
  );
  console.log(
    `checkout session ${sessionId} completed (${session.payment_status}); waiting for its webhooks…`,
  );
  const made = await waitFor(
    async () =>
      (await planSubscriptions(run)).find((s) =>
        s.paymentConfirmation?.stripeCheckoutSessionId === sessionId
      ),
    `the webhooks of ${sessionId}`,
  );
  console.log(describe(made));
};

export type LifeStep = "renew" | "fail" | "cancel";

/** A renewal, a failed renewal or a cancellation of the subscription `id` (either id). */
export const lifeStep = async (run: DevRun, id: string, step: LifeStep) => {
  const before = (await planSubscriptions(run)).find((s) =>
    s.id === id || s.stripeSubscriptionId === id
  );
  if (before === undefined) throw new DevCommandError(`there is no plan subscription ${id}`);
  if (before.stripeSubscriptionId === null) {
    throw new DevCommandError(`plan subscription ${before.id} is a one-time purchase`);
  }
  await run.simulator(
    `subscriptions/${encodeURIComponent(before.stripeSubscriptionId)}/${step}`,
    {},
  );
  const done = {
    renew: (s: Subscription) => s.currentPeriodEnd !== before.currentPeriodEnd,
    fail: (s: Subscription) => s.latestPayment === "payment_failed" && s.status === "past_due",
    cancel: (s: Subscription) => s.status === "canceled",
  }[step];
  const after = await waitFor(
    async () =>
      (await planSubscriptions(run)).find((s) =>
        s.id === before.id && s.updatedAt !== before.updatedAt && done(s)
      ),
    `the ${step} of ${before.stripeSubscriptionId}`,
  );
  console.log(describe(after));
};
