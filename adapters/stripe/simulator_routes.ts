/**
 * The Stripe API routes the simulator answers: each handler validates, reads the store
 * and returns what to answer, what to write and which events to send; simulator.ts runs
 * it in one transaction. Products, prices and customers are here; the Checkout routes are
 * in simulator_checkout.ts.
 * @module
 */
import type { z } from "zod";
import {
  ApiError,
  applyParams,
  newCustomer,
  newPrice,
  newProduct,
  randomId,
  type StripeObject,
} from "./simulator_objects.ts";
import { customerParams, parseParams, priceParams, productParams } from "./simulator_params.ts";
import type { Kind } from "./simulator_store.ts";
import {
  completeCheckout,
  completeSessionRoute,
  createCheckoutSession,
  expireSession,
  listLineItems,
} from "./simulator_checkout.ts";
import {
  cancelSubscription,
  devCancelSubscription,
  failRenewal,
  renewSubscription,
  updateSubscription,
} from "./simulator_subscriptions.ts";
import { created, type Handler, load } from "./simulator_handler.ts";
import { READING_ROUTES, SEARCH_ROUTES } from "./simulator_reading.ts";

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

/** Stripe's `created` filter: a number, or gt/gte/lt/lte bounds. */
const inCreated = (created: unknown) => (o: StripeObject): boolean => {
  if (created === undefined) return true;
  const at = o.created as number;
  if (typeof created !== "object" || created === null) return at === Number(created);
  const { gt, gte, lt, lte } = created as Record<string, string | undefined>;
  return (gt === undefined || at > Number(gt)) && (gte === undefined || at >= Number(gte)) &&
    (lt === undefined || at < Number(lt)) && (lte === undefined || at <= Number(lte));
};

const list = (kind: Kind, url: string): Handler => (ctx) => {
  const { limit = "10", starting_after, ending_before: _, expand: __, created, ...filters } =
    ctx.params;
  const size = Number(limit);
  if (!/^\d+$/.test(String(limit)) || size < 1 || size > 100) {
    throw new ApiError(400, "Invalid limit: must be an integer between 1 and 100", {
      param: "limit",
    });
  }
  let all = ctx.store.list<StripeObject>(kind).reverse()
    .filter((o) => Object.entries(filters).every(([k, v]) => String(o[k]) === v))
    .filter(inCreated(created));
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

type Route = { method: string; path: RegExp; handler: Handler; json?: boolean };
/** The simulator's own routes (what Stripe does on its side: a customer paying, a renewal). */
const dev = (path: string, handler: Handler): Route[] => [
  { method: "POST", path: new RegExp(`^/dev/${path}$`), handler, json: true },
];
const resource = (path: string, kind: Kind, create: Handler, change?: Handler): Route[] => [
  { method: "POST", path: new RegExp(`^/v1/${path}$`), handler: create },
  { method: "GET", path: new RegExp(`^/v1/${path}$`), handler: list(kind, `/v1/${path}`) },
  { method: "GET", path: new RegExp(`^/v1/${path}/([^/]+)$`), handler: retrieve(kind) },
  ...change ? [{ method: "POST", path: new RegExp(`^/v1/${path}/([^/]+)$`), handler: change }] : [],
];
const ROUTES: Route[] = [
  ...SEARCH_ROUTES,
  ...resource("products", "product", createProduct, update("product", productParams.update)),
  { method: "DELETE", path: /^\/v1\/products\/([^/]+)$/, handler: deleteProduct },
  ...resource("prices", "price", createPrice, update("price", priceParams.update)),
  ...resource("customers", "customer", createCustomer, update("customer", customerParams.update)),
  ...resource("checkout/sessions", "checkout.session", createCheckoutSession),
  {
    method: "GET",
    path: /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/,
    handler: listLineItems,
  },
  { method: "POST", path: /^\/v1\/subscriptions\/([^/]+)$/, handler: updateSubscription },
  { method: "DELETE", path: /^\/v1\/subscriptions\/([^/]+)$/, handler: cancelSubscription },
  { method: "GET", path: /^\/v1\/invoices\/([^/]+)$/, handler: retrieve("invoice") },
  ...dev("checkout_sessions/complete", completeCheckout),
  ...dev("checkout_sessions/([^/]+)/complete", completeSessionRoute),
  ...dev("checkout_sessions/([^/]+)/expire", expireSession),
  ...dev("subscriptions/([^/]+)/renew", renewSubscription),
  ...dev("subscriptions/([^/]+)/fail", failRenewal),
  ...dev("subscriptions/([^/]+)/cancel", devCancelSubscription),
  // Lists, events and webhook endpoints (subscriptions' GET routes among them).
  ...READING_ROUTES,
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
