/**
 * POST /api/StripeWebhookHandler?code=<WEBHOOKS_API_KEY>: verify a Stripe webhook and
 * make it durable, nothing more; the inbound consumer applies it later. Every refusal
 * happens before anything is written, so a refused request changes nothing.
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import Stripe from "stripe";
import type { Clock } from "../../application/ports/clock.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import {
  InvalidStripeEvent,
  recordStripeWebhook,
  StripeEventTooLarge,
} from "../../application/inbound/webhook_record.ts";
import type { Logger } from "../../application/ports/logger.ts";
import { type Metrics, noMetrics } from "../../application/ports/metrics.ts";
import { readAtMost } from "./body.ts";

export const WEBHOOK_PATH = "/api/StripeWebhookHandler";
export const MAX_BODY_BYTES = 1024 * 1024;
/** Seconds a signature stays valid: Stripe's own default. */
const TOLERANCE_SECONDS = 300;

export type WebhookHandlerDeps = {
  store: EventStore;
  /** STRIPE_WEBHOOKS_SECRET (whsec_…). */
  secret: string;
  /** WEBHOOKS_API_KEY: the `code` query parameter. */
  apiKey: string;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  maxBodyBytes?: number;
  /**
   * The API version Nudges is pinned to (STRIPE_API_VERSION, else the SDK's). An event in
   * another one is still recorded (the inbound schemas read only fields every version
   * has), and counted by version; the first of each version is logged.
   */
  apiVersion?: string;
};

const answer = (status: number, body: Record<string, unknown>, headers: HeadersInit = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

const encoder = new TextEncoder();

/** Constant time in what the caller sent: every byte of the expected key is compared. */
const sameSecret = (expected: Uint8Array, given: string): boolean => {
  const bytes = encoder.encode(given);
  let diff = expected.length ^ bytes.length;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (bytes[i] ?? 0);
  return diff === 0;
};

// The Stripe SDK's checks (header parsing, any of several v1 signatures, tolerance,
// constant-time compare) with the HMAC computed in this thread: SubtleCrypto would take
// two trips to a worker thread per request, which under load cost more than the HMAC.
const hmacProvider: Stripe.CryptoProvider = {
  computeHMACSignature: (payload, secret) =>
    createHmac("sha256", secret).update(payload, "utf8").digest("hex"),
  computeHMACSignatureAsync: (payload, secret) =>
    Promise.resolve(createHmac("sha256", secret).update(payload, "utf8").digest("hex")),
  computeSHA256Async: (data) =>
    Promise.resolve(new Uint8Array(createHash("sha256").update(data).digest())),
};

const firstLine = (text: string) => text.split("\n", 1)[0]!.trim();

export const webhookHandler = (
  deps: WebhookHandlerDeps,
): (request: Request) => Promise<Response> => {
  const { store, secret, clock, logger, metrics = noMetrics } = deps;
  const limit = deps.maxBodyBytes ?? MAX_BODY_BYTES;
  const apiKey = encoder.encode(deps.apiKey);
  const outcomes = metrics.counter(
    "webhooks_requests_total",
    "Stripe webhook requests by outcome",
  );

  const otherVersions = metrics.counter(
    "webhooks_other_api_version_total",
    "Stripe events received in an API version other than the pinned one, by version",
  );
  const seenVersions = new Set<string>();
  const checkVersion = (event: unknown) => {
    const version = (event as { api_version?: unknown } | null)?.api_version;
    if (deps.apiVersion === undefined || typeof version !== "string") return;
    if (version === deps.apiVersion) return;
    otherVersions.inc({ version });
    if (seenVersions.has(version)) return;
    seenVersions.add(version);
    logger.warn("Stripe event in another API version than the pinned one; handled all the same", {
      version,
      pinned: deps.apiVersion,
      stripeEventId: (event as { id?: unknown }).id,
    });
  };

  const refuse = (status: number, outcome: string, error: string, headers?: HeadersInit) => {
    outcomes.inc({ outcome });
    if (status !== 405) logger.warn("webhook refused", { status, outcome, error });
    return answer(status, { error }, headers);
  };

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== WEBHOOK_PATH) return answer(404, { error: `no route ${url.pathname}` });
    if (request.method !== "POST") {
      return refuse(405, "method", `${request.method} is not allowed, use POST`, {
        allow: "POST",
      });
    }
    const code = url.searchParams.get("code");
    if (code === null || !sameSecret(apiKey, code)) {
      return refuse(401, "unauthorized", "missing or wrong code");
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > limit) return refuse(413, "too_large", `the body is over ${limit} bytes`);
    const raw = await readAtMost(request.body, limit);
    if (raw === null) return refuse(413, "too_large", `the body is over ${limit} bytes`);

    const signature = request.headers.get("stripe-signature");
    if (!signature) return refuse(400, "signature", "missing Stripe-Signature header");
    let event: unknown;
    try {
      event = await Stripe.webhooks.constructEventAsync(
        raw,
        signature,
        secret,
        TOLERANCE_SECONDS,
        hmacProvider,
        Date.parse(clock()),
      );
    } catch (error) {
      if (error instanceof SyntaxError) {
        return refuse(400, "json", `the body is not valid JSON: ${error.message}`);
      }
      const message = firstLine(error instanceof Error ? error.message : String(error));
      return refuse(400, "signature", `invalid Stripe-Signature: ${message}`);
    }

    checkVersion(event);
    let outcome: Awaited<ReturnType<typeof recordStripeWebhook>>;
    try {
      outcome = await recordStripeWebhook(store, event);
    } catch (error) {
      if (error instanceof InvalidStripeEvent) {
        return refuse(400, "invalid_event", `not a usable Stripe event: ${error.message}`);
      }
      if (error instanceof StripeEventTooLarge) return refuse(413, "too_large", error.message);
      outcomes.inc({ outcome: "unavailable" });
      logger.error("could not record a Stripe event; Stripe will retry", {
        stripeEventId: (event as { id?: unknown }).id,
        error,
      });
      return answer(503, { error: "could not record the event, retry later" }, {
        "retry-after": "5",
      });
    }
    outcomes.inc({ outcome });
    return answer(200, { received: true, ...(outcome === "recorded" ? {} : { [outcome]: true }) });
  };
};
