/**
 * What `deno task dev` prints once everything listens: where things are, and the secrets
 * it made up (only those: a secret given in the environment is never printed).
 * @module
 */
import type { Config } from "../config.ts";
import { stripeApiVersion } from "../wiring.ts";
import { DEV_SECRETS_FILE } from "./secrets.ts";

export type DevUrls = {
  /** e.g. http://127.0.0.1:4000/graphql: GraphQL, GraphiQL in a browser, WebSocket. */
  graphql: string;
  /** e.g. http://127.0.0.1:7071 (the endpoint is /api/StripeWebhookHandler). */
  webhooks: string;
  /** The consumers' /healthz, /readyz, /metrics. */
  consumerOps: string;
  /** Where the simulator listens; null when STRIPE_API_KEY names a real Stripe. */
  stripeSimulator: string | null;
};

export const WEBHOOK_PATH = "/api/StripeWebhookHandler";

export const banner = (config: Config, urls: DevUrls): string => {
  const made = config.madeUp;
  const code = made.WEBHOOKS_API_KEY !== undefined
    ? encodeURIComponent(made.WEBHOOKS_API_KEY)
    : "<WEBHOOKS_API_KEY>";
  const webhookUrl = `${urls.webhooks}${WEBHOOK_PATH}?code=${code}`;
  const stripe = urls.stripeSimulator !== null
    ? `simulator at ${urls.stripeSimulator} (STRIPE_API_KEY unset; sends its webhooks to the URL above)`
    : `${config.stripeApiBase ?? "https://api.stripe.com"} with STRIPE_API_KEY`;
  const store = config.eventStoreConnectionString === null
    ? `SQLite under ${config.dataDir}`
    : "EventStoreDB (EVENTSTORE_CONNECTION_STRING)";
  const bus = config.kafkaBrokers === null
    ? `in-process, SQLite under ${config.dataDir}`
    : `Kafka at ${config.kafkaBrokers.join(",")}`;
  const lines = [
    "Nudges dev run",
    `  GraphiQL         ${urls.graphql}`,
    `  Stripe webhooks  ${webhookUrl}`,
    `  Stripe           ${stripe}`,
    `  Stripe API       ${stripeApiVersion(config)}${
      config.stripeApiVersion === null ? " (the SDK's; STRIPE_API_VERSION pins another)" : ""
    }`,
    `  event store      ${store}`,
    `  bus              ${bus}`,
    `  consumer ops     ${urls.consumerOps}/metrics`,
  ];
  const names = Object.keys(made);
  if (names.length > 0) {
    lines.push(
      "",
      `Made-up dev secrets (kept in ${config.dataDir}/${DEV_SECRETS_FILE}; set them in the environment to choose your own):`,
      ...names.map((name) => `  ${name}=${made[name]}`),
    );
  }
  if (made.PRODUCT_API_TOKEN !== undefined) {
    lines.push(
      `  GraphiQL headers: {"Authorization": "Bearer ${made.PRODUCT_API_TOKEN}"}`,
    );
  }
  lines.push("");
  if (urls.stripeSimulator !== null) {
    lines.push("A customer pays: deno task checkout --client <client id> --tier <price tier id>");
  } else {
    const local = webhookUrl.replace(/^https?:\/\/(127\.0\.0\.1|0\.0\.0\.0)/, "localhost")
      .replace(/^https?:\/\//, "");
    lines.push(
      "Forward Stripe's webhooks here (then set STRIPE_WEBHOOKS_SECRET to the whsec_… it prints):",
      `  stripe listen --forward-to "${local}"`,
    );
  }
  lines.push("Ctrl-C stops.");
  return lines.join("\n");
};
