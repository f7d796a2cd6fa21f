// The Stripe API routes the simulator answers: each handler validates, reads the store
// and returns what to answer, what to write and which events to send; simulator.ts runs
// it in one transaction.
import type { z } from "zod";
import {
  ApiError,
  applyParams,
  newCheckoutSession,
  newCustomer,
  newPrice,
  newProduct,
  noSuch,
  randomId,
  type StripeObject,
} from "./simulator_objects.ts";
import {
  checkoutSessionParams,
  completeCheckoutParams,
  customerParams,
  parseParams,
  priceParams,
  productParams,
} from "./simulator_params.ts";
import type { Change, Kind, SimulatorStore } from "./simulator_store.ts";

export type Ctx = {
  params: Record<string, unknown>;
  id: string;
  now: number;
  store: SimulatorStore;
};
export type EventSpec = {
  type: string;
  object: StripeObject;
  previous?: Record<string, unknown>;
  /** Caused by no API request (a customer paying): `request` is null, as in Stripe's. */
  automatic?: boolean;
};
export type Outcome = { body: unknown; changes?: Change[]; events?: EventSpec[] };
export type Handler = (ctx: Ctx) => Outcome;

const load = (ctx: Ctx, kind: Kind, id = ctx.id, param?: string): StripeObject =>
  ctx.store.get<StripeObject>(kind, id) ?? (() => {
    throw noSuch(kind, id, param);
  })();

const created = (kind: Kind, object: StripeObject, event = `${kind}.created`): Outcome => ({
  body: object,
  changes: [{ kind, id: object.id, value: object }],
  events: event === "" ? [] : [{ type: event, object }],
});

const update = (kind: Kind, schema: z.ZodType<Record<string, unknown>>): Handler => (ctx) => {
  const params = parseParams(schema, ctx.params);
  const object = structuredClone(load(ctx, kind));
  if (typeof params.default_price === "string") {
    load(ctx, "price", params.default_price, "default_price");
  }
  const { transfer_lookup_key: _, ...changes } = params;
  const previous = applyParams(object, changes);
  if (Object.keys(previous).length === 0) return { body: object };
  if ("updated" in object) [previous.updated, object.updated] = [object.updated, ctx.now];
  return {
    body: object,
    changes: [{ kind, id: object.id, value: object }],
    events: [{ type: `${kind}.updated`, object, previous }],
  };
};

const retrieve = (kind: Kind): Handler => (ctx) => ({ body: load(ctx, kind) });

const list = (kind: Kind, url: string): Handler => (ctx) => {
  const { limit = "10", starting_after, ending_before: _, expand: __, ...filters } = ctx.params;
  const size = Number(limit);
  if (!/^\d+$/.test(String(limit)) || size < 1 || size > 100) {
    throw new ApiError(400, "Invalid limit: must be an integer between 1 and 100", {
      param: "limit",
    });
  }
  let all = ctx.store.list<StripeObject>(kind).reverse()
    .filter((o) => Object.entries(filters).every(([k, v]) => String(o[k]) === v));
  if (typeof starting_after === "string") {
    all = all.slice(all.findIndex((o) => o.id === starting_after) + 1);
  }
  return { body: { object: "list", data: all.slice(0, size), has_more: all.length > size, url } };
};

const createProduct: Handler = (ctx) => {
  const params = parseParams(productParams.create, ctx.params);
  const id = params.id ?? randomId("prod_", 14);
  if (ctx.store.get("product", id) !== null) {
    throw new ApiError(400, `Product already exists.`, {
      param: "id",
      code: "resource_already_exists",
    });
  }
  const product = newProduct(id, ctx.now);
  applyParams(product, params);
  return created("product", product);
};

const deleteProduct: Handler = (ctx) => {
  const product = load(ctx, "product");
  if (ctx.store.list<StripeObject>("price").some((price) => price.product === product.id)) {
    throw new ApiError(
      400,
      "This product cannot be deleted because it has one or more user-created prices.",
    );
  }
  return {
    body: { id: product.id, object: "product", deleted: true },
    changes: [{ kind: "product", id: product.id, value: null }],
    events: [{ type: "product.deleted", object: product }],
  };
};

const createPrice: Handler = (ctx) => {
  const params = parseParams(priceParams.create, ctx.params);
  load(ctx, "product", params.product, "product");
  const { recurring, unit_amount, unit_amount_decimal, transfer_lookup_key: _, ...rest } = params;
  if (unit_amount === undefined && unit_amount_decimal === undefined) {
    throw new ApiError(400, "Missing required param: unit_amount.", {
      param: "unit_amount",
      code: "parameter_missing",
    });
  }
  const price = newPrice(randomId("price_", 24), ctx.now);
  applyParams(price, rest);
  const decimal = unit_amount_decimal ?? String(unit_amount);
  price.unit_amount = unit_amount ?? (Number.isInteger(Number(decimal)) ? Number(decimal) : null);
  price.unit_amount_decimal = decimal;
  if (recurring !== undefined) {
    price.type = "recurring";
    price.recurring = {
      interval: recurring.interval,
      interval_count: recurring.interval_count ?? 1,
      meter: null,
      trial_period_days: recurring.trial_period_days ?? null,
      usage_type: recurring.usage_type ?? "licensed",
    };
  }
  return created("price", price);
};

const createCustomer: Handler = (ctx) => {
  const customer = newCustomer(randomId("cus_", 14), ctx.now);
  applyParams(customer, parseParams(customerParams.create, ctx.params));
  return created("customer", customer);
};

const createCheckoutSession: Handler = (ctx) => {
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

type Route = { method: string; path: RegExp; handler: Handler; json?: boolean };
const resource = (path: string, kind: Kind, create: Handler, change?: Handler): Route[] => [
  { method: "POST", path: new RegExp(`^/v1/${path}$`), handler: create },
  { method: "GET", path: new RegExp(`^/v1/${path}$`), handler: list(kind, `/v1/${path}`) },
  { method: "GET", path: new RegExp(`^/v1/${path}/([^/]+)$`), handler: retrieve(kind) },
  ...change ? [{ method: "POST", path: new RegExp(`^/v1/${path}/([^/]+)$`), handler: change }] : [],
];
const ROUTES: Route[] = [
  ...resource("products", "product", createProduct, update("product", productParams.update)),
  { method: "DELETE", path: /^\/v1\/products\/([^/]+)$/, handler: deleteProduct },
  ...resource("prices", "price", createPrice, update("price", priceParams.update)),
  ...resource("customers", "customer", createCustomer, update("customer", customerParams.update)),
  ...resource("checkout/sessions", "checkout.session", createCheckoutSession),
  {
    method: "POST",
    path: /^\/dev\/checkout_sessions\/complete$/,
    handler: completeCheckout,
    json: true,
  },
];

export const findRoute = (method: string, pathname: string) => {
  for (const route of ROUTES) {
    const match = route.method === method ? route.path.exec(pathname) : null;
    if (match !== null) return { ...route, id: decodeURIComponent(match[1] ?? "") };
  }
  throw new ApiError(
    404,
    `Unrecognized request URL (${method}: ${pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  );
};
