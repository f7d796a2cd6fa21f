/**
 * The Stripe webhook endpoint of a Nudges deployment, set up through Stripe's API:
 * created for `<base>/api/StripeWebhookHandler?code=<WEBHOOKS_API_KEY>` with every event
 * type Nudges handles and the pinned API version, or brought back in line when it
 * exists (same base URL and path). Running it again changes nothing.
 * @module
 */
import { randomId } from "../ports/clock.ts";
import type { StripeWebhookEndpoints, WebhookEndpoint } from "../ports/stripe_gateway.ts";
import { idempotencyKeyFor } from "../ports/stripe_gateway.ts";
import { HANDLED_STRIPE_EVENT_TYPES } from "../shared/stripe_events.ts";

export const WEBHOOK_PATH = "/api/StripeWebhookHandler";
const DESCRIPTION = "Nudges Stripe Sync";

export type Registered =
  | { action: "created"; endpoint: WebhookEndpoint; secret: string | null }
  | { action: "updated" | "unchanged"; endpoint: WebhookEndpoint }
  /** Stripe cannot change an endpoint's version: it is left as it is. */
  | { action: "versionDiffers"; endpoint: WebhookEndpoint; pinned: string };

/** The endpoint's URL for a public base URL (no trailing slash needed). */
export const endpointUrl = (baseUrl: string, code: string): string => {
  const base = new URL(baseUrl);
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new TypeError(`${baseUrl} is not an http(s) URL`);
  }
  base.pathname = base.pathname.replace(/\/+$/, "") + WEBHOOK_PATH;
  base.search = `?code=${encodeURIComponent(code)}`;
  return base.toString();
};

/** The URL with its code hidden: the code is a secret, and this goes to a terminal. */
export const withoutCode = (url: string): string => url.replace(/([?&]code=)[^&]*/, "$1…");

const withoutQuery = (url: string) => url.split("?")[0];

const sameEvents = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

export const registerWebhookEndpoint = async (
  stripe: StripeWebhookEndpoints,
  { baseUrl, code, apiVersion }: { baseUrl: string; code: string; apiVersion: string },
): Promise<Registered> => {
  const url = endpointUrl(baseUrl, code);
  const spec = { url, enabledEvents: HANDLED_STRIPE_EVENT_TYPES, description: DESCRIPTION };
  const existing = (await stripe.listWebhookEndpoints())
    .find((endpoint) => withoutQuery(endpoint.url) === withoutQuery(url));
  // A key of this run's own: a retried call is one call, a later run another.
  const key = idempotencyKeyFor(`webhook-endpoint-${randomId()}`);
  if (existing === undefined) {
    const endpoint = await stripe.createWebhookEndpoint({ ...spec, apiVersion }, key);
    return { action: "created", endpoint, secret: endpoint.secret };
  }
  if (existing.apiVersion !== null && existing.apiVersion !== apiVersion) {
    return { action: "versionDiffers", endpoint: existing, pinned: apiVersion };
  }
  if (
    existing.url === url && existing.status === "enabled" &&
    sameEvents(existing.enabledEvents, HANDLED_STRIPE_EVENT_TYPES)
  ) {
    return { action: "unchanged", endpoint: existing };
  }
  return {
    action: "updated",
    endpoint: await stripe.updateWebhookEndpoint(existing.id, spec, key),
  };
};
