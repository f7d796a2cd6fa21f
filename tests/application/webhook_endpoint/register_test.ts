import assert from "node:assert/strict";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { HANDLED_STRIPE_EVENT_TYPES } from "../../../application/shared/stripe_events.ts";
import {
  endpointUrl,
  registerWebhookEndpoint,
  withoutCode,
} from "../../../application/webhook_endpoint/register.ts";
import { skipUnlessStripeMock, startStripeMock } from "../../support/stripe_mock.ts";

const KEY = "sk_test_register";
const CODE = "a-webhooks-api-key-0123456789";
const VERSION = "2026-10-28.endive";
const options = { baseUrl: "https://nudges.example.com/", code: CODE, apiVersion: VERSION };

Deno.test("endpointUrl() puts the path and the code after the base URL, and withoutCode() hides it", () => {
  const url = endpointUrl("https://nudges.example.com/sync/", "a b&c");
  assert.equal(url, "https://nudges.example.com/sync/api/StripeWebhookHandler?code=a%20b%26c");
  assert.equal(withoutCode(url), "https://nudges.example.com/sync/api/StripeWebhookHandler?code=…");
  assert.throws(() => endpointUrl("ftp://nudges.example.com", "x"), /not an http\(s\) URL/);
});

Deno.test("registerWebhookEndpoint() creates the endpoint once with every handled type and the pinned version, then changes nothing, and mends one that drifted", async () => {
  await using simulator = startStripeSimulator({ apiKey: KEY });
  const stripe = stripeClient({ apiKey: KEY, apiBase: simulator.url });
  const api = stripeSdkApi({ client: stripe });

  const first = await registerWebhookEndpoint(api, options);
  assert.equal(first.action, "created");
  assert.match(first.action === "created" ? first.secret ?? "" : "", /^whsec_/);
  assert.equal(first.endpoint.url, endpointUrl(options.baseUrl, CODE));
  assert.equal(first.endpoint.apiVersion, VERSION);
  assert.deepEqual(first.endpoint.enabledEvents.sort(), [...HANDLED_STRIPE_EVENT_TYPES].sort());

  const second = await registerWebhookEndpoint(api, options);
  assert.equal(second.action, "unchanged");
  assert.equal((await stripe.webhookEndpoints.list()).data.length, 1);

  // Someone narrowed its events in the Dashboard: registering again puts them back.
  await stripe.webhookEndpoints.update(first.endpoint.id, { enabled_events: ["product.created"] });
  const mended = await registerWebhookEndpoint(api, options);
  assert.equal(mended.action, "updated");
  assert.equal(mended.endpoint.id, first.endpoint.id);
  assert.equal(mended.endpoint.enabledEvents.length, HANDLED_STRIPE_EVENT_TYPES.length);

  // WEBHOOKS_API_KEY was rotated: the same endpoint gets the URL with the new code.
  const rotated = await registerWebhookEndpoint(api, { ...options, code: "a-new-code-0123456789" });
  assert.equal(rotated.action, "updated");
  assert.equal(rotated.endpoint.id, first.endpoint.id);
  assert.equal(rotated.endpoint.url, endpointUrl(options.baseUrl, "a-new-code-0123456789"));

  const otherVersion = await registerWebhookEndpoint(api, { ...options, apiVersion: "2024-06-20" });
  assert.equal(otherVersion.action, "versionDiffers");
  assert.equal((await stripe.webhookEndpoints.list()).data.length, 1);
});

Deno.test({
  name:
    "registerWebhookEndpoint() creates the endpoint through stripe-mock with parameters Stripe's spec takes",
  ignore: skipUnlessStripeMock("register against stripe-mock"),
  fn: async () => {
    const mock = await startStripeMock();
    try {
      const api = stripeSdkApi({ apiKey: "sk_test_123", apiBase: mock.url });
      // stripe-mock's spec names the versions of its day: one of them.
      const registered = await registerWebhookEndpoint(api, {
        ...options,
        apiVersion: "2025-09-30.clover",
      });
      // stripe-mock keeps nothing: its listed endpoint has another URL, so one is created.
      assert.equal(registered.action, "created");
      // stripe-mock echoes the parameters it validated (its fixture carries no secret).
      assert.equal(registered.endpoint.url, endpointUrl(options.baseUrl, CODE));
      assert.ok(registered.endpoint.id.startsWith("we_"));
      assert.equal(registered.endpoint.apiVersion, "2025-09-30.clover");
    } finally {
      await mock.stop();
    }
  },
});
