// Test support: the GraphQL server over a memory event store and read model, called in
// process (no socket) unless a test serves it.
import type { StripeGateway } from "../../../application/ports/stripe_gateway.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { graphqlServer, type Limits } from "../../../adapters/graphql/server.ts";
import { jsonLogger } from "../../../adapters/observability/json_logger.ts";
import { memoryReadModel } from "../../../adapters/readmodel/memory.ts";
import { randomId } from "../../../application/ports/clock.ts";
import { steppingClock } from "../../support/clocks.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { ReadModelStore } from "../../../application/ports/read_model.ts";
import { startProjector } from "../../../application/projections/projector.ts";

export const TOKEN = "test-token-0123456789abcdef";
export const GRAPHQL_URL = "http://localhost/graphql";

export type Reply = {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any -- answers are checked field by field
  body: any;
};

export type Api = ReturnType<typeof harness>;

export type HarnessOptions = {
  store?: EventStore;
  /** Default: a memory read model. */
  readModel?: ReadModelStore;
  limits?: Partial<Limits>;
  /** PRODUCT_API_PUBLIC_READS (default false: every operation needs the token). */
  publicReads?: boolean;
  gateway?: StripeGateway;
};

export const harness = (options: HarnessOptions = {}) => {
  const store = options.store ?? memoryEventStore();
  const logs: Record<string, unknown>[] = [];
  const logger = jsonLogger({
    level: "debug",
    secrets: [TOKEN],
    write: (line) => logs.push(JSON.parse(line)),
  });
  const readModel = options.readModel ?? memoryReadModel();
  const projector = startProjector({ store, readModel, logger });
  const server = graphqlServer({
    store,
    projector,
    clock: steppingClock("2025-03-01T10:00:00.000Z"),
    newId: randomId,
    logger,
    token: TOKEN,
    publicReads: options.publicReads,
    limits: options.limits,
    gateway: options.gateway,
  });

  const request = async (init: RequestInit & { url?: string }): Promise<Reply> => {
    const response = await server.handle(new Request(init.url ?? GRAPHQL_URL, init));
    if (!response) throw new Error("not a GraphQL route");
    const text = await response.text();
    const json = response.headers.get("content-type")?.includes("json");
    return {
      status: response.status,
      headers: response.headers,
      body: json ? JSON.parse(text) : text,
    };
  };

  /** POSTs an operation, with the token unless `token` says otherwise (null: none). */
  const gql = (
    query: string,
    variables: Record<string, unknown> = {},
    { token = TOKEN as string | null } = {},
  ) =>
    request({
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query, variables }),
    });

  /** The data of an operation that must succeed. */
  const data = async (query: string, variables: Record<string, unknown> = {}) => {
    const reply = await gql(query, variables);
    if (reply.body.errors) throw new Error(JSON.stringify(reply.body.errors));
    return reply.body.data;
  };

  const close = async () => {
    server.close();
    await projector.stop();
    readModel.close();
  };
  return { store, projector, server, logs, request, gql, data, close };
};

/** Serves the API on a free local port for clients that need a URL. */
export const serve = async (api: Api, body: (url: string) => Promise<void>) => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => await api.server.handle(request) ?? new Response(null, { status: 404 }),
  );
  try {
    await body(`http://127.0.0.1:${server.addr.port}/graphql`);
  } finally {
    api.server.close();
    await server.shutdown();
  }
};

/** Runs `body` with a fresh API and closes it afterwards. */
export const withApi =
  (body: (api: Api) => Promise<void>, options?: Parameters<typeof harness>[0]) => async () => {
    const api = harness(options);
    try {
      await body(api);
    } finally {
      await api.close();
    }
  };

/** Runs `body` with a fresh API served on a local port (for WebSocket clients), then closes both. */
export const withSocketApi = (
  body: (api: Api, url: string) => Promise<void>,
  options?: Parameters<typeof harness>[0],
) => withApi((api) => serve(api, (url) => body(api, url)), options);

export const PLAN_FIELDS = `id name description iconUrl isActive isDeleted stripeProductId
  syncStatus syncError version createdAt updatedAt
  priceTiers { id planId name unitAmount currency interval intervalCount isActive stripePriceId syncStatus }`;

export const createPlan = async (api: Api, input: Record<string, unknown> = { name: "Gold" }) =>
  (await api.data(
    `mutation($input: CreatePlanInput!) { createPlan(input: $input) { ${PLAN_FIELDS} } }`,
    { input },
  )).createPlan;

export const createTier = async (api: Api, planId: string, input: Record<string, unknown> = {}) =>
  (await api.data(
    `mutation($input: CreatePriceTierInput!) {
      createPriceTier(input: $input) { id planId name unitAmount currency interval intervalCount isActive }
    }`,
    { input: { planId, unitAmount: 1000, currency: "usd", interval: "MONTH", ...input } },
  )).createPriceTier;

/** True if `promise` settles within `ms`; the timer is cleared either way. */
export const settlesWithin = async (promise: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
};
