/**
 * A Stripe stand-in for dev runs and tests: the few Stripe API routes Nudges uses, served
 * over HTTP so that the real stripe SDK talks to it as to Stripe (STRIPE_API_BASE), with
 * Stripe's object shapes, errors, idempotency keys and signed webhooks back. Every event
 * carries `request: { id, idempotency_key }` of the call that caused it, as Stripe's do:
 * that is how Nudges tells its own echoes apart.
 * @module
 */
import type { Logger } from "../../application/ports/logger.ts";
import { silentLogger } from "../../application/ports/logger.ts";
import { ApiError, nowSeconds, randomId, type StripeObject } from "./simulator_objects.ts";
import { type CompleteCheckoutInput, parseForm } from "./simulator_params.ts";
import {
  completeCheckout,
  completeSessionRoute,
  expireSession,
  listLineItems,
} from "./simulator_checkout.ts";
import { checkoutPage, nextUrl, pageRequest } from "./simulator_checkout_page.ts";
import type { Ctx, Handler } from "./simulator_handler.ts";
import { findRoute } from "./simulator_routes.ts";
import { type Change, openSimulatorStore } from "./simulator_store.ts";
import {
  type Delivery,
  type RetryPolicy,
  startWebhookSender,
  type StripeEvent,
  type WebhookTarget,
} from "./simulator_webhooks.ts";

export type { CompleteCheckoutInput, RetryPolicy, StripeObject, WebhookTarget };

export type StripeSimulatorOptions = {
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Default 0: any free port (see `url`). */
  port?: number;
  /** SQLite file that keeps objects and pending webhooks across restarts; default: memory. */
  path?: string;
  /** Where to post events; none: they wait (see setWebhook). */
  webhook?: WebhookTarget | null;
  /** Accept only this key; default: any sk_test_/rk_test_ key. */
  apiKey?: string;
  retry?: RetryPolicy;
  logger?: Logger;
};

export type StripeSimulator = {
  /** Base URL for STRIPE_API_BASE, e.g. http://127.0.0.1:43121 */
  url: string;
  port: number;
  /** A customer completes a Checkout: the session is stored and checkout.session.completed sent. */
  completeCheckout(input: CompleteCheckoutInput): Promise<StripeObject>;
  setWebhook(target: WebhookTarget | null): void;
  /** Events not yet acknowledged by the webhook endpoint. */
  pendingWebhooks(): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** The API version the pinned stripe SDK (23.1.0) asks for, when a request names none. */
const API_VERSION = "2026-10-28.endive";

type StoredAnswer = { fingerprint: string; status: number; body: unknown; requestId: string };

const authorize = (header: string | null, apiKey: string | undefined) => {
  let key = header?.match(/^Bearer (\S+)$/i)?.[1];
  const basic = header?.match(/^Basic (\S+)$/i)?.[1];
  if (basic !== undefined) {
    key = (() => {
      try {
        return atob(basic).split(":")[0];
      } catch {
        return undefined;
      }
    })();
  }
  if (!key) {
    throw new ApiError(
      401,
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    );
  }
  if (apiKey !== undefined ? key !== apiKey : !/^(sk|rk)_test_\w+$/.test(key)) {
    throw new ApiError(
      401,
      "Invalid API Key provided (the Stripe simulator takes test-mode keys).",
    );
  }
};

export const startStripeSimulator = (options: StripeSimulatorOptions = {}): StripeSimulator => {
  const { hostname = "127.0.0.1", port = 0, apiKey, logger = silentLogger } = options;
  const store = openSimulatorStore(options.path);
  let webhook = options.webhook ?? null;
  const sender = startWebhookSender({
    store,
    target: () => webhook,
    retry: options.retry,
    logger,
  });

  const run = (
    handler: Handler,
    ctx: Omit<Ctx, "now" | "store">,
    request: { id: string | null; idempotency_key: string | null },
    apiVersion: string,
    extra: (body: unknown) => Change[] = () => [],
  ): unknown => {
    const now = nowSeconds();
    const outcome = handler({ ...ctx, now, store, baseUrl });
    const events: StripeEvent[] = (outcome.events ?? []).map((spec) => ({
      id: randomId("evt_", 24),
      object: "event",
      api_version: apiVersion,
      created: now,
      data: spec.previous === undefined
        ? { object: spec.object }
        : { object: spec.object, previous_attributes: spec.previous },
      livemode: false,
      pending_webhooks: 1,
      request: spec.automatic ? { id: null, idempotency_key: null } : request,
      type: spec.type,
    }));
    const deliveries = events.map((event): Change => ({
      kind: "delivery",
      id: event.id,
      value: { event, attempts: 0, nextAttemptAt: Date.now() } satisfies Delivery,
    }));
    // Every event is kept too, for Stripe's list of events (GET /v1/events).
    const kept = events.map((event): Change => ({ kind: "event", id: event.id, value: event }));
    store.write([...outcome.changes ?? [], ...deliveries, ...kept, ...extra(outcome.body)]);
    if (deliveries.length > 0) sender.kick();
    return outcome.body;
  };

  /** The Checkout page (page.ts): public, as Stripe's own is. */
  const servePage = (page: NonNullable<ReturnType<typeof pageRequest>>): Response => {
    const html = (status: number, body: string) =>
      new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8" } });
    const none = { id: null, idempotency_key: null };
    if (page.action === "show") {
      const session = store.get<StripeObject>("checkout.session", page.sessionId);
      if (session === null) return html(404, "<p>No such Checkout Session.</p>");
      const { data } = listLineItems({ params: {}, id: page.sessionId, now: 0, store })
        .body as { data: { price: StripeObject; quantity: number }[] };
      return html(200, checkoutPage(session, data));
    }
    const handler = page.action === "pay" ? completeSessionRoute : expireSession;
    const session = run(
      handler,
      { params: {}, id: page.sessionId },
      none,
      API_VERSION,
    ) as StripeObject;
    const next = nextUrl(session, page.action);
    return next === null
      ? new Response(null, { status: 303, headers: { location: `/c/pay/${session.id}` } })
      : new Response(null, { status: 303, headers: { location: next } });
  };

  const serve = async (req: Request): Promise<Response> => {
    const requestId = randomId("req_", 14);
    const apiVersion = req.headers.get("stripe-version") ?? API_VERSION;
    const headers = new Headers({
      "content-type": "application/json",
      "request-id": requestId,
      "stripe-version": apiVersion,
    });
    const reply = (status: number, body: unknown) =>
      new Response(JSON.stringify(body, null, 2), { status, headers });
    const url = new URL(req.url);
    try {
      const page = pageRequest(req.method, url.pathname);
      if (page !== null) return servePage(page);
      authorize(req.headers.get("authorization"), apiKey);
      const route = findRoute(req.method, url.pathname);
      const body = req.method === "POST" ? await req.text() : "";
      const params = route.json ? parseJson(body) : parseForm(
        req.method === "POST" ? new URLSearchParams(body) : url.searchParams,
      );
      const key = req.method === "POST" ? req.headers.get("idempotency-key") : null;
      const fingerprint = `${req.method} ${url.pathname} ${
        route.json ? body : [...new URLSearchParams(body)].map((p) => p.join("=")).sort().join("&")
      }`;
      if (key !== null) {
        headers.set("idempotency-key", key);
        const stored = store.get<StoredAnswer>("idempotency", key);
        if (stored !== null && stored.fingerprint !== fingerprint) {
          throw new ApiError(
            400,
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            { type: "idempotency_error" },
          );
        }
        if (stored !== null) {
          headers.set("idempotent-replayed", "true");
          headers.set("original-request", stored.requestId);
          return reply(stored.status, stored.body);
        }
      }
      const answer = run(
        route.handler,
        { params, id: route.id },
        { id: requestId, idempotency_key: key },
        apiVersion,
        (body) =>
          key === null ? [] : [{
            kind: "idempotency",
            id: key,
            value: { fingerprint, status: 200, body, requestId } satisfies StoredAnswer,
          }],
      );
      return reply(200, answer);
    } catch (error) {
      if (error instanceof ApiError) return reply(error.status, error);
      logger.error("stripe simulator: request failed", {
        method: req.method,
        path: url.pathname,
        error,
      });
      return reply(500, {
        error: { type: "api_error", message: "The Stripe simulator failed; see its log." },
      });
    }
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  let baseUrl = "";
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, serve);
    baseUrl = `http://${hostname}:${server.addr.port}`;
  } catch (error) {
    void sender.close();
    store.close();
    throw error;
  }
  const close = async () => {
    await server.shutdown();
    await sender.close();
    store.close();
  };
  sender.kick(); // deliveries left from the last run
  return {
    url: baseUrl,
    port: server.addr.port,
    completeCheckout: (input) =>
      Promise.resolve().then(() =>
        run(
          completeCheckout,
          { params: input, id: "" },
          { id: null, idempotency_key: null },
          API_VERSION,
        ) as StripeObject
      ),
    setWebhook: (target) => {
      webhook = target;
      sender.kick();
    },
    pendingWebhooks: sender.pending,
    close,
    [Symbol.asyncDispose]: close,
  };
};

const parseJson = (body: string): Record<string, unknown> => {
  try {
    const value = JSON.parse(body);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch { /* answered below */ }
  throw new ApiError(400, "The request body must be a JSON object.");
};
