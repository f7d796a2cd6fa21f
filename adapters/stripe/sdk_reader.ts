/**
 * The read calls and the webhook endpoint calls of the port (StripeReader,
 * StripeWebhookEndpoints) on Stripe's SDK, and `stripeSdkApi`: every call of the port in
 * one object, for resilience.ts to wrap. The outbound calls are in sdk.ts.
 * @module
 */
import type Stripe from "stripe";
import {
  PermanentStripeError,
  type StripeApi,
  type StripeListKind,
  type StripePage,
  type StripeReader,
  type StripeRecord,
  type StripeWebhookEndpoints,
  type WebhookEndpoint,
} from "../../application/ports/stripe_gateway.ts";
import { call, stripeClient, stripeSdkGateway, type StripeSdkOptions } from "./sdk.ts";

const PAGE = 100;

const page = (list: { data: unknown[]; has_more: boolean }): StripePage => ({
  data: list.data as StripeRecord[],
  hasMore: list.has_more,
});

const endpoint = (e: Stripe.WebhookEndpoint): WebhookEndpoint => ({
  id: e.id,
  url: e.url,
  enabledEvents: [...e.enabled_events],
  apiVersion: e.api_version ?? null,
  status: e.status,
  secret: e.secret ?? null,
});

/** Stripe's answer for an object it does not have: 404, or a deleted customer's stub. */
const orNull = async (request: () => Promise<unknown>): Promise<StripeRecord | null> => {
  try {
    const found = await call(request) as StripeRecord & { deleted?: boolean };
    return found.deleted === true ? null : found;
  } catch (error) {
    if (error instanceof PermanentStripeError && error.statusCode === 404) return null;
    throw error;
  }
};

export const stripeSdkReader = (stripe: Stripe): StripeReader & StripeWebhookEndpoints => {
  type ListParams = Stripe.PaginationParams & { created?: Stripe.RangeQueryParam };
  const lists: Record<StripeListKind, (params: ListParams) => Promise<StripePage>> = {
    products: (params) => stripe.products.list(params).then(page),
    prices: (params) => stripe.prices.list(params).then(page),
    customers: (params) => stripe.customers.list(params).then(page),
    // Without status=all, Stripe leaves the canceled ones out.
    subscriptions: (params) => stripe.subscriptions.list({ ...params, status: "all" }).then(page),
  };
  const retrievals: Record<StripeListKind, (id: string) => Promise<unknown>> = {
    products: (id) => stripe.products.retrieve(id),
    prices: (id) => stripe.prices.retrieve(id),
    customers: (id) => stripe.customers.retrieve(id),
    subscriptions: (id) => stripe.subscriptions.retrieve(id),
  };
  return {
    listPage: (kind, { startingAfter, limit = PAGE, created }) =>
      call(() =>
        lists[kind]({
          limit,
          ...(startingAfter && { starting_after: startingAfter }),
          ...(created && { created }),
        })
      ),
    retrieve: (kind, id) => orNull(() => retrievals[kind](id)),
    findByMetadata: (kind, key, value) => {
      // Stripe's query language quotes with ' and escapes it with \.
      const query = `metadata['${key}']:'${value.replace(/['\\]/g, "\\$&")}'`;
      const search: Record<typeof kind, () => Promise<{ data: { id: string }[] }>> = {
        products: () => stripe.products.search({ query, limit: 1 }),
        prices: () => stripe.prices.search({ query, limit: 1 }),
        customers: () => stripe.customers.search({ query, limit: 1 }),
      };
      return call(search[kind]).then((found) => found.data[0]?.id ?? null);
    },
    listEvents: ({ startingAfter, limit = PAGE, createdGte, types }) =>
      call(() =>
        stripe.events.list({
          limit,
          created: { gte: createdGte },
          types: [...types],
          ...(startingAfter && { starting_after: startingAfter }),
        })
      ).then(page),
    listWebhookEndpoints: () =>
      call(async () => {
        const all: WebhookEndpoint[] = [];
        for await (const e of stripe.webhookEndpoints.list({ limit: PAGE })) all.push(endpoint(e));
        return all;
      }),
    createWebhookEndpoint: ({ url, enabledEvents, description, apiVersion }, idempotencyKey) =>
      call(() =>
        stripe.webhookEndpoints.create({
          url,
          enabled_events: [...enabledEvents] as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
          description,
          api_version: apiVersion as Stripe.WebhookEndpointCreateParams.ApiVersion,
        }, { idempotencyKey })
      ).then(endpoint),
    updateWebhookEndpoint: (id, { url, enabledEvents, description }, idempotencyKey) =>
      call(() =>
        stripe.webhookEndpoints.update(id, {
          url,
          enabled_events: [...enabledEvents] as Stripe.WebhookEndpointUpdateParams.EnabledEvent[],
          description,
          disabled: false,
        }, { idempotencyKey })
      ).then(endpoint),
  };
};

/** Every call of the port on one SDK client. */
export const stripeSdkApi = (options: StripeSdkOptions | { client: Stripe }): StripeApi => {
  const client = "client" in options ? options.client : stripeClient(options);
  return { ...stripeSdkGateway({ client }), ...stripeSdkReader(client) };
};
