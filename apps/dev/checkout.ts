/**
 * `deno task checkout`: a customer's side of Stripe, in the simulator of the running
 * `deno task dev` (same DATA_DIR), posting the webhooks Stripe would:
 *
 * - `--client <id> --tier <id>`: the client completes a Checkout for a price tier at once;
 * - `--session <cs_…> [--abandon]`: pays (or leaves) a session createCheckoutSession made,
 *   as a person would on the page at its url;
 * - `--subscription <id> --renew | --fail | --cancel`: the next period is paid, its
 *   payment fails, or the customer cancels (a plan subscription's id or its sub_… id).
 *
 * Each waits until the plan subscription shows the change in GraphQL and prints it.
 * @module
 */
import { parseArgs } from "node:util";
import { DevCommandError, devRun, waitFor } from "./dev_client.ts";
import { describe, lifeStep, planSubscriptions, settleSession } from "./subscription_life.ts";

const USAGE = [
  "usage: deno task checkout --client <client id> --tier <price tier id> " +
  "[--payment-status paid|unpaid|no_payment_required]",
  "       deno task checkout --session <checkout session id> [--abandon] [--payment-status …]",
  "       deno task checkout --subscription <plan subscription or sub_ id> --renew|--fail|--cancel",
].join("\n");

const options = () => {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        client: { type: "string" },
        tier: { type: "string" },
        session: { type: "string" },
        subscription: { type: "string" },
        abandon: { type: "boolean" },
        renew: { type: "boolean" },
        fail: { type: "boolean" },
        cancel: { type: "boolean" },
        "payment-status": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    const paymentStatus = values["payment-status"];
    if (paymentStatus && !["paid", "unpaid", "no_payment_required"].includes(paymentStatus)) {
      throw new Error(
        `--payment-status ${paymentStatus} is not paid, unpaid or no_payment_required`,
      );
    }
    if (values.session) {
      return {
        kind: "session" as const,
        sessionId: values.session,
        abandon: !!values.abandon,
        paymentStatus,
      };
    }
    if (values.subscription) {
      const steps = (["renew", "fail", "cancel"] as const).filter((step) => values[step]);
      if (steps.length !== 1) {
        throw new Error("--subscription needs one of --renew, --fail, --cancel");
      }
      return { kind: "life" as const, id: values.subscription, step: steps[0]! };
    }
    if (!values.client || !values.tier) throw new Error("--client and --tier are required");
    return {
      kind: "tier" as const,
      clientId: values.client,
      priceTierId: values.tier,
      paymentStatus,
    };
  } catch (error) {
    throw new DevCommandError(`${(error as Error).message}\n${USAGE}`);
  }
};

const payTier = async (
  input: { clientId: string; priceTierId: string; paymentStatus?: string },
) => {
  const run = await devRun();
  const found = await run.graphql<{
    client: { stripeCustomerId: string | null } | null;
    priceTier: { stripePriceId: string | null; isActive: boolean } | null;
  }>(
    `query ($client: ID!, $tier: ID!) {
      client(id: $client) { stripeCustomerId }
      priceTier(id: $tier) { stripePriceId isActive }
    }`,
    { client: input.clientId, tier: input.priceTierId },
  );
  if (found.client === null) {
    throw new DevCommandError(`there is no client ${input.clientId}: createClient makes one`);
  }
  if (found.client.stripeCustomerId === null) {
    // Else the simulator would make the session a customer of its own: a second one.
    throw new DevCommandError(
      `client ${input.clientId} has no Stripe customer yet: try again in a moment`,
    );
  }
  if (found.priceTier === null) {
    throw new DevCommandError(`there is no price tier ${input.priceTierId}`);
  }
  if (!found.priceTier.isActive) {
    throw new DevCommandError(`price tier ${input.priceTierId} is archived: nobody can buy it`);
  }
  if (found.priceTier.stripePriceId === null) {
    throw new DevCommandError(
      `price tier ${input.priceTierId} has no Stripe price yet: try again in a moment`,
    );
  }
  const { clientId, priceTierId, paymentStatus } = input;
  const session = await run.simulator("checkout_sessions/complete", {
    clientId,
    priceTierId,
    ...(paymentStatus && { paymentStatus }),
    stripeCustomerId: found.client.stripeCustomerId,
  });
  console.log(
    `checkout session ${session.id} completed (${session.payment_status}, ${session.amount_total} ${session.currency}); waiting for its webhook…`,
  );
  const made = await waitFor(
    async () =>
      (await planSubscriptions(run, input.clientId)).find((s) =>
        s.paymentConfirmation?.stripeCheckoutSessionId === session.id
      ),
    `the webhook of ${session.id}`,
  );
  const payment = made.paymentConfirmation!;
  console.log(`payment confirmation ${payment.id} (${payment.paymentStatus})`);
  console.log(describe(made));
};

const checkout = async () => {
  const input = options();
  switch (input.kind) {
    case "tier":
      return await payTier(input);
    case "session":
      return await settleSession(await devRun(), input.sessionId, input);
    case "life":
      return await lifeStep(await devRun(), input.id, input.step);
  }
};

if (import.meta.main) {
  try {
    await checkout();
  } catch (error) {
    if (!(error instanceof DevCommandError)) throw error;
    console.error(`deno task checkout: ${error.message}`);
    Deno.exit(1);
  }
}
