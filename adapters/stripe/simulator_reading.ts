/**
 * The simulator's routes for reading Stripe back and for the webhook endpoint: the
 * subscription list (status=all), the event list (every event the simulator sent, with
 * created[gte] and types[] filters) and /v1/webhook_endpoints. Endpoints made here are
 * kept and listed; the simulator still posts its webhooks to the target it was given.
 * @module
 */
import { z } from "zod";
import { ApiError, applyParams, randomId, type StripeObject } from "./simulator_objects.ts";
import { parseParams } from "./simulator_params.ts";
import type { Kind } from "./simulator_store.ts";
import { created, type Ctx, type Handler, load } from "./simulator_handler.ts";

const pageSize = (limit: unknown): number => {
  const size = Number(limit ?? "10");
  if (!/^\d+$/.test(String(limit ?? "10")) || size < 1 || size > 100) {
    throw new ApiError(400, "Invalid limit: must be an integer between 1 and 100", {
      param: "limit",
    });
  }
  return size;
};

/** A page of `all` (newest first) after `starting_after`, as Stripe's lists answer. */
const page = (all: StripeObject[], params: Record<string, unknown>, url: string) => {
  const size = pageSize(params.limit);
  const after = params.starting_after;
  const rest = typeof after === "string"
    ? all.slice(all.findIndex((o) => o.id === after) + 1)
    : all;
  return { body: { object: "list", data: rest.slice(0, size), has_more: rest.length > size, url } };
};

const newest = (ctx: Ctx, kind: Kind) => ctx.store.list<StripeObject>(kind).reverse();

const listSubscriptions: Handler = (ctx) => {
  const status = ctx.params.status ?? "all";
  const all = newest(ctx, "subscription").filter((s) => status === "all" || s.status === status);
  return page(all, ctx.params, "/v1/subscriptions");
};

const listEvents: Handler = (ctx) => {
  const created = ctx.params.created as Record<string, string> | undefined;
  const gte = created?.gte === undefined ? -Infinity : Number(created.gte);
  const types = ctx.params.types as string[] | undefined;
  const type = ctx.params.type as string | undefined;
  const all = newest(ctx, "event").filter((event) =>
    (event.created as number) >= gte &&
    (types === undefined || types.includes(event.type as string)) &&
    (type === undefined || event.type === type)
  );
  return page(all, ctx.params, "/v1/events");
};

const endpointFields = {
  url: z.url({ error: "Invalid URL: url must be an http(s) URL" }).optional(),
  enabled_events: z.array(z.string().min(1)).min(1).optional(),
  description: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
};
const createEndpoint = z.strictObject({
  ...endpointFields,
  url: z.url({ error: "Invalid URL: url must be an http(s) URL" }),
  enabled_events: z.array(z.string().min(1)).min(1),
  api_version: z.string().optional(),
  connect: z.string().optional(),
});
const updateEndpoint = z.strictObject({ ...endpointFields, disabled: z.string().optional() });

const createWebhookEndpoint: Handler = (ctx) => {
  const { api_version, connect: _, ...params } = parseParams(createEndpoint, ctx.params);
  const endpoint: StripeObject = {
    id: randomId("we_", 24),
    object: "webhook_endpoint",
    api_version: api_version ?? null,
    application: null,
    created: ctx.now,
    description: null,
    enabled_events: [],
    livemode: false,
    metadata: {},
    status: "enabled",
    url: "",
  };
  applyParams(endpoint, params);
  const secret = `whsec_${randomId("", 32)}`;
  // Stripe answers the secret on creation only; it is kept for the simulator's own use.
  return {
    ...created("webhook_endpoint", { ...endpoint, secret }, ""),
    body: { ...endpoint, secret },
  };
};

const updateWebhookEndpoint: Handler = (ctx) => {
  const { disabled, ...params } = parseParams(updateEndpoint, ctx.params);
  const { secret: _, ...endpoint } = structuredClone(load(ctx, "webhook_endpoint"));
  applyParams(endpoint, params);
  if (disabled !== undefined) endpoint.status = disabled === "true" ? "disabled" : "enabled";
  return {
    body: endpoint,
    changes: [{ kind: "webhook_endpoint", id: endpoint.id, value: endpoint }],
  };
};

const withoutSecret = ({ secret: _, ...endpoint }: StripeObject) => endpoint;

export const READING_ROUTES = [
  { method: "GET", path: /^\/v1\/subscriptions$/, handler: listSubscriptions },
  {
    method: "GET",
    path: /^\/v1\/subscriptions\/([^/]+)$/,
    handler: (ctx: Ctx) => ({ body: load(ctx, "subscription") }),
  },
  { method: "GET", path: /^\/v1\/events$/, handler: listEvents },
  {
    method: "GET",
    path: /^\/v1\/events\/([^/]+)$/,
    handler: (ctx: Ctx) => ({ body: load(ctx, "event") }),
  },
  { method: "POST", path: /^\/v1\/webhook_endpoints$/, handler: createWebhookEndpoint },
  {
    method: "GET",
    path: /^\/v1\/webhook_endpoints$/,
    handler: (ctx: Ctx) =>
      page(newest(ctx, "webhook_endpoint").map(withoutSecret), ctx.params, "/v1/webhook_endpoints"),
  },
  {
    method: "GET",
    path: /^\/v1\/webhook_endpoints\/([^/]+)$/,
    handler: (ctx: Ctx) => ({ body: withoutSecret(load(ctx, "webhook_endpoint")) }),
  },
  { method: "POST", path: /^\/v1\/webhook_endpoints\/([^/]+)$/, handler: updateWebhookEndpoint },
] as const;

/** Stripe's search, for the one query Nudges makes: metadata['key']:'value'. */
const search = (kind: Kind, url: string): Handler => (ctx) => {
  const query = String(ctx.params.query ?? "");
  const match = query.match(/^metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'$/);
  if (match === null) {
    throw new ApiError(400, `The simulator searches only metadata['key']:'value', got: ${query}`, {
      param: "query",
    });
  }
  const [, key, quoted] = match;
  const value = quoted!.replace(/\\(.)/g, "$1");
  const all = newest(ctx, kind).filter((o) =>
    (o.metadata as Record<string, string>)?.[key!] === value
  );
  const { body } = page(all, ctx.params, url);
  return { body: { ...body, object: "search_result", next_page: null, total_count: all.length } };
};

/** Before the retrieve routes, which would take "search" for an id. */
export const SEARCH_ROUTES = [
  {
    method: "GET",
    path: /^\/v1\/products\/search$/,
    handler: search("product", "/v1/products/search"),
  },
  { method: "GET", path: /^\/v1\/prices\/search$/, handler: search("price", "/v1/prices/search") },
  {
    method: "GET",
    path: /^\/v1\/customers\/search$/,
    handler: search("customer", "/v1/customers/search"),
  },
] as const;
