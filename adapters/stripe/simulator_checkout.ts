/**
 * The Stripe simulator's Checkout: creating a Checkout Session (POST
 * /v1/checkout/sessions, its url the simulator's own payment page), its line items (GET
 * …/line_items), and a customer completing or abandoning it: on the page, through the dev
 * routes behind `deno task checkout`. Completing sends what Stripe sends: the customer
 * when new, in subscription mode the subscription and its paid first invoice, then
 * checkout.session.completed.
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
import { type Ctx, type Handler, load, type Outcome } from "./simulator_handler.ts";
import { newInvoice, newSubscription } from "./simulator_subscriptions.ts";
import { z } from "zod";

/** What a session keeps besides its own fields: its items, and the subscription's metadata. */
type Basket = {
  items: { price: StripeObject; quantity: number }[];
  subscriptionMetadata: Record<string, string>;
};

const basketOf = (ctx: Ctx, sessionId: string): Basket =>
  ctx.store.get<Basket>("checkout.basket", sessionId) ?? { items: [], subscriptionMetadata: {} };

export const createCheckoutSession: Handler = (ctx) => {
  const params = parseParams(checkoutSessionParams, ctx.params);
  const { line_items = [], subscription_data, ...fields } = params;
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
  if (params.mode === "subscription" && items.some(({ price }) => price.recurring === null)) {
    throw new ApiError(
      400,
      "You must provide at least one recurring price in `subscription` mode when using prices.",
      { param: "line_items" },
    );
  }
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
    url: `${ctx.baseUrl ?? "https://checkout.stripe.com"}/c/pay/${session.id}`,
  });
  const metadata = subscription_data?.metadata;
  const basket: Basket = {
    items,
    subscriptionMetadata: typeof metadata === "object" ? metadata : {},
  };
  return {
    body: session,
    changes: [
      { kind: "checkout.session", id: session.id, value: session },
      { kind: "checkout.basket", id: session.id, value: basket },
    ],
  };
};

/** GET /v1/checkout/sessions/:id/line_items */
export const listLineItems: Handler = (ctx) => {
  const session = load(ctx, "checkout.session");
  const data = basketOf(ctx, session.id).items.map(({ price, quantity }, i) => {
    const amount = Number(price.unit_amount) * quantity;
    return {
      id: `li_${session.id.slice(-20)}${i}`,
      object: "item",
      amount_discount: 0,
      amount_subtotal: amount,
      amount_tax: 0,
      amount_total: amount,
      currency: price.currency,
      description: price.nickname ?? null,
      price,
      quantity,
    };
  });
  return {
    body: {
      object: "list",
      data,
      has_more: false,
      url: `/v1/checkout/sessions/${session.id}/line_items`,
    },
  };
};

type PaymentStatus = "paid" | "unpaid" | "no_payment_required";

/** A customer pays an open session: what Stripe stores and sends then. */
export const completeSession = (
  ctx: Ctx,
  open: StripeObject,
  paymentStatus: PaymentStatus,
  basket: Basket = basketOf(ctx, open.id),
): Outcome & Required<Omit<Outcome, "body">> => {
  if (open.status !== "open") {
    throw new ApiError(400, `Checkout Session ${open.id} is ${open.status}, not open.`);
  }
  const session = structuredClone(open);
  const outcome: Outcome & Required<Omit<Outcome, "body">> = {
    body: session,
    changes: [],
    events: [],
  };
  let customer = typeof session.customer === "string"
    ? load(ctx, "customer", session.customer, "customer")
    : undefined;
  if (customer === undefined) {
    // Checkout in subscription mode always makes a customer when it is given none.
    customer = newCustomer(randomId("cus_", 14), ctx.now);
    outcome.changes.push({ kind: "customer", id: customer.id, value: customer });
    outcome.events.push({ type: "customer.created", object: customer, automatic: true });
  }
  Object.assign(session, {
    status: "complete",
    payment_status: paymentStatus,
    customer: customer.id,
    customer_details: {
      address: null,
      email: customer.email,
      name: customer.name,
      phone: null,
      tax_exempt: "none",
      tax_ids: [],
    },
  });
  const first = basket.items[0];
  if (session.mode === "subscription" && first !== undefined) {
    const subscription = newSubscription(ctx.now, customer.id, first, {
      ...basket.subscriptionMetadata,
    });
    const paid = paymentStatus !== "unpaid";
    if (!paid) subscription.status = "incomplete";
    const invoice = newInvoice(ctx.now, subscription, { paid, reason: "subscription_create" });
    subscription.latest_invoice = invoice.id;
    Object.assign(session, { subscription: subscription.id, invoice: invoice.id });
    outcome.changes.push(
      { kind: "subscription", id: subscription.id, value: subscription },
      { kind: "invoice", id: invoice.id, value: invoice },
    );
    outcome.events.push({
      type: "customer.subscription.created",
      object: subscription,
      automatic: true,
    });
    if (paid) outcome.events.push({ type: "invoice.paid", object: invoice, automatic: true });
  } else if (session.mode === "payment") {
    session.payment_intent = randomId("pi_", 24);
  }
  outcome.changes.push({ kind: "checkout.session", id: session.id, value: session });
  outcome.events.push({ type: "checkout.session.completed", object: session, automatic: true });
  return outcome;
};

const devCompleteParams = z.strictObject({
  paymentStatus: z.enum(["paid", "unpaid", "no_payment_required"]).optional(),
});

/** Dev: the customer pays session :id (`deno task checkout --session <id>`). */
export const completeSessionRoute: Handler = (ctx) => {
  const { paymentStatus = "paid" } = parseParams(devCompleteParams, ctx.params);
  return completeSession(ctx, load(ctx, "checkout.session"), paymentStatus);
};

/** Dev: the customer leaves the payment page; the session expires. */
export const expireSession: Handler = (ctx) => {
  const open = load(ctx, "checkout.session");
  if (open.status !== "open") {
    throw new ApiError(400, `Checkout Session ${open.id} is ${open.status}, not open.`);
  }
  const session = { ...structuredClone(open), status: "expired" };
  return {
    body: session,
    changes: [{ kind: "checkout.session", id: session.id, value: session }],
    events: [{ type: "checkout.session.expired", object: session, automatic: true }],
  };
};

/** Dev: a client pays a price tier at once (`deno task checkout --client … --tier …`). */
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
  const customer = input.stripeCustomerId !== undefined
    ? load(ctx, "customer", input.stripeCustomerId, "stripeCustomerId")
    : ctx.store.list<StripeObject>("customer")
      .findLast((c) => meta(c).nudges_client_id === input.clientId);
  const metadata = {
    nudges_client_id: input.clientId,
    ...(planId === undefined ? {} : { nudges_plan_id: planId }),
    nudges_price_tier_id: input.priceTierId,
  };
  const session = newCheckoutSession(randomId("cs_test_", 58), ctx.now);
  Object.assign(session, {
    mode: price.recurring === null ? "payment" : "subscription",
    client_reference_id: input.clientId,
    customer: customer?.id ?? null,
    metadata,
    amount_subtotal: price.unit_amount,
    amount_total: price.unit_amount,
    currency: price.currency,
  });
  const basket: Basket = { items: [{ price, quantity: 1 }], subscriptionMetadata: metadata };
  const outcome = completeSession(ctx, session, input.paymentStatus ?? "paid", basket);
  outcome.changes.push({ kind: "checkout.basket", id: session.id, value: basket });
  return outcome;
};
