/**
 * The Stripe simulator's Checkout routes: creating a Checkout Session (POST
 * /v1/checkout/sessions), and completing one as a paying customer would (POST
 * /dev/checkout_sessions/complete, the simulator's own route behind `deno task checkout`),
 * which sends checkout.session.completed.
 * @module
 */
import {
  ApiError,
  applyParams,
  newCheckoutSession,
  newCustomer,
  randomId,
  type StripeObject,
} from "./simulator_objects.ts";
import { checkoutSessionParams, completeCheckoutParams, parseParams } from "./simulator_params.ts";
import { created, type Handler, load, type Outcome } from "./simulator_handler.ts";

export const createCheckoutSession: Handler = (ctx) => {
  const params = parseParams(checkoutSessionParams, ctx.params);
  const { line_items = [], subscription_data: _, ...fields } = params;
  if (params.mode !== "setup" && line_items.length === 0) {
    throw new ApiError(400, "Missing required param: line_items.", {
      param: "line_items",
      code: "parameter_missing",
    });
  }
  const items = line_items.map((item, i) => ({
    price: load(ctx, "price", item.price, `line_items[${i}][price]`),
    quantity: item.quantity,
  }));
  if (params.customer !== undefined) load(ctx, "customer", params.customer, "customer");
  const session = newCheckoutSession(randomId("cs_test_", 58), ctx.now);
  applyParams(session, fields);
  const amount = items.reduce(
    (sum, { price, quantity }) => sum + Number(price.unit_amount) * quantity,
    0,
  );
  Object.assign(session, {
    amount_subtotal: amount,
    amount_total: amount,
    currency: items[0]?.price.currency ?? null,
    url: `https://checkout.stripe.com/c/pay/${session.id}`,
  });
  return created("checkout.session", session, "");
};

export const completeCheckout: Handler = (ctx) => {
  const input = parseParams(completeCheckoutParams, ctx.params);
  const meta = (o: StripeObject) => o.metadata as Record<string, string>;
  const prices = ctx.store.list<StripeObject>("price")
    .filter((p) => meta(p).nudges_price_tier_id === input.priceTierId);
  const price = prices.findLast((p) => p.active) ?? prices.at(-1);
  if (price === undefined) {
    throw new ApiError(
      404,
      `No price has metadata.nudges_price_tier_id '${input.priceTierId}': has the price tier reached this Stripe simulator?`,
      { param: "priceTierId", code: "resource_missing" },
    );
  }
  const planId = input.planId ?? meta(price).nudges_plan_id;
  if (meta(price).nudges_plan_id !== undefined && planId !== meta(price).nudges_plan_id) {
    throw new ApiError(
      400,
      `Price tier '${input.priceTierId}' belongs to plan '${
        meta(price).nudges_plan_id
      }', not '${planId}'.`,
      { param: "planId" },
    );
  }
  const outcome: Required<Outcome> = { body: null, changes: [], events: [] };
  let customer = input.stripeCustomerId !== undefined
    ? load(ctx, "customer", input.stripeCustomerId, "stripeCustomerId")
    : ctx.store.list<StripeObject>("customer")
      .findLast((c) => meta(c).nudges_client_id === input.clientId);
  if (customer === undefined) {
    // Checkout in subscription mode always makes a customer when it is given none.
    customer = newCustomer(randomId("cus_", 14), ctx.now);
    outcome.changes.push({ kind: "customer", id: customer.id, value: customer });
    outcome.events.push({ type: "customer.created", object: customer, automatic: true });
  }
  const session = newCheckoutSession(randomId("cs_test_", 58), ctx.now);
  Object.assign(session, {
    mode: "subscription",
    status: "complete",
    payment_status: input.paymentStatus ?? "paid",
    client_reference_id: input.clientId,
    customer: customer.id,
    customer_details: {
      address: null,
      email: customer.email,
      name: customer.name,
      phone: null,
      tax_exempt: "none",
      tax_ids: [],
    },
    metadata: {
      ...(planId === undefined ? {} : { nudges_plan_id: planId }),
      nudges_price_tier_id: input.priceTierId,
    },
    amount_subtotal: price.unit_amount,
    amount_total: price.unit_amount,
    currency: price.currency,
    subscription: randomId("sub_", 24),
  });
  outcome.body = session;
  outcome.changes.push({ kind: "checkout.session", id: session.id, value: session });
  outcome.events.push({ type: "checkout.session.completed", object: session, automatic: true });
  return outcome;
};
