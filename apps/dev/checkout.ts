/**
 * `deno task checkout --client <id> --tier <id>`: a customer completes a Stripe Checkout
 * for a price tier, in the simulator of the running `deno task dev` (same DATA_DIR). The
 * simulator posts checkout.session.completed to the webhook endpoint, as Stripe would;
 * this waits until the payment confirmation and the plan subscription show in GraphQL.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readRunFile } from "./run_file.ts";
import { DEV_SECRETS_FILE } from "./secrets.ts";

const USAGE = "usage: deno task checkout --client <client id> --tier <price tier id> " +
  "[--payment-status paid|unpaid|no_payment_required]";
/** The simulator takes any test-mode key; this one is no secret. */
const SIMULATOR_KEY = "sk_test_nudges_dev_checkout";
const WAIT_MS = 30_000;

class CheckoutError extends Error {
  override name = "CheckoutError";
}

const options = () => {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        client: { type: "string" },
        tier: { type: "string" },
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
    if (!values.client || !values.tier) throw new Error("--client and --tier are required");
    if (paymentStatus && !["paid", "unpaid", "no_payment_required"].includes(paymentStatus)) {
      throw new Error(
        `--payment-status ${paymentStatus} is not paid, unpaid or no_payment_required`,
      );
    }
    return { clientId: values.client, priceTierId: values.tier, paymentStatus };
  } catch (error) {
    throw new CheckoutError(`${(error as Error).message}\n${USAGE}`);
  }
};

const token = async (dataDir: string): Promise<string | null> => {
  const given = Deno.env.get("PRODUCT_API_TOKEN");
  if (given) return given;
  try {
    const kept = JSON.parse(await Deno.readTextFile(join(dataDir, DEV_SECRETS_FILE)));
    return typeof kept.PRODUCT_API_TOKEN === "string" ? kept.PRODUCT_API_TOKEN : null;
  } catch {
    return null; // queries are answered without it
  }
};

const reach = async (what: string, url: string, init: RequestInit) => {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new CheckoutError(
      `cannot reach the ${what} at ${url} (${(error as Error).message}): is deno task dev running?`,
    );
  }
};

const graphql =
  (url: string, bearer: string | null) =>
  async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await reach("product API", url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) {
      throw new CheckoutError(`the product API refused: ${JSON.stringify(body.errors)}`);
    }
    return body.data;
  };

type Subscription = {
  id: string;
  status: string;
  planId: string | null;
  stripeSubscriptionId: string | null;
  paymentConfirmation: { id: string; stripeCheckoutSessionId: string; paymentStatus: string };
};

const checkout = async () => {
  const input = options();
  const dataDir = Deno.env.get("DATA_DIR") || "./data";
  const run = await readRunFile(dataDir);
  if (run === null) {
    throw new CheckoutError(
      `no dev run under DATA_DIR=${dataDir}: start deno task dev first (with the same DATA_DIR)`,
    );
  }
  if (run.stripeSimulator === null) {
    throw new CheckoutError(
      "deno task dev talks to Stripe (STRIPE_API_KEY is set), not the simulator: complete a " +
        "test-mode Checkout Session in Stripe instead (see README.md, Against Stripe)",
    );
  }
  const query = graphql(run.graphql, await token(dataDir));
  const found = await query<{
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
    throw new CheckoutError(`there is no client ${input.clientId}: createClient makes one`);
  }
  if (found.client.stripeCustomerId === null) {
    // Else the simulator would make the session a customer of its own: a second one.
    throw new CheckoutError(
      `client ${input.clientId} has no Stripe customer yet: try again in a moment`,
    );
  }
  if (found.priceTier === null) {
    throw new CheckoutError(`there is no price tier ${input.priceTierId}`);
  }
  if (!found.priceTier.isActive) {
    throw new CheckoutError(`price tier ${input.priceTierId} is archived: nobody can buy it`);
  }
  if (found.priceTier.stripePriceId === null) {
    throw new CheckoutError(
      `price tier ${input.priceTierId} has no Stripe price yet: try again in a moment`,
    );
  }

  const response = await reach(
    "Stripe simulator",
    `${run.stripeSimulator}/dev/checkout_sessions/complete`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${SIMULATOR_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ ...input, stripeCustomerId: found.client.stripeCustomerId }),
    },
  );
  const session = await response.json();
  if (!response.ok) {
    throw new CheckoutError(`the Stripe simulator refused: ${session.error?.message}`);
  }
  console.log(
    `checkout session ${session.id} completed (${session.payment_status}, ${session.amount_total} ${session.currency}); waiting for its webhook…`,
  );

  const until = Date.now() + WAIT_MS;
  while (Date.now() < until) {
    const { planSubscriptions } = await query<{ planSubscriptions: Subscription[] }>(
      `query ($client: ID!) {
        planSubscriptions(clientId: $client) {
          id status planId stripeSubscriptionId
          paymentConfirmation { id stripeCheckoutSessionId paymentStatus }
        }
      }`,
      { client: input.clientId },
    );
    const made = planSubscriptions.find((s) =>
      s.paymentConfirmation?.stripeCheckoutSessionId === session.id
    );
    if (made !== undefined) {
      console.log(
        `payment confirmation ${made.paymentConfirmation.id} (${made.paymentConfirmation.paymentStatus})`,
      );
      console.log(
        `plan subscription ${made.id}: ${made.status} (plan ${made.planId}, ${made.stripeSubscriptionId})`,
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new CheckoutError(
    `the webhook of ${session.id} did not show within ${
      WAIT_MS / 1000
    } s: see the log of deno task dev`,
  );
};

if (import.meta.main) {
  try {
    await checkout();
  } catch (error) {
    if (!(error instanceof CheckoutError)) throw error;
    console.error(`deno task checkout: ${error.message}`);
    Deno.exit(1);
  }
}
