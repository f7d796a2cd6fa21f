/**
 * Configuration from the environment, as README.md lists it (Configuration). Outside
 * dev mode a missing secret stops the app at start with a message naming the variable;
 * in dev mode made-up values stand in and are printed once (never real secrets).
 * @module
 */
import { z } from "zod";
import { connectionStringSecrets } from "../adapters/eventstore/esdb_connection_string.ts";

export type Config = {
  dev: boolean;
  stripeApiKey: string | null;
  stripeApiBase: string | null;
  /** STRIPE_API_VERSION: the Stripe API version Nudges calls; null: the SDK's. */
  stripeApiVersion: string | null;
  stripeWebhooksSecret: string;
  webhooksApiKey: string;
  productApiToken: string;
  kafkaBrokers: string[] | null;
  eventStoreConnectionString: string | null;
  dataDir: string;
  productApiPort: number;
  webhooksPort: number;
  /** PRODUCT_API_PUBLIC_READS: queries and subscriptions of the catalog need no token. */
  productApiPublicReads: boolean;
  /** Most WebSockets one product API process holds at once. */
  productApiMaxSockets: number;
  /** Most operations (subscriptions) at once on one WebSocket. */
  productApiMaxSubscriptionsPerSocket: number;
  /** Where the Kafka consumer app answers /healthz, /readyz and /metrics. */
  consumerPort: number;
  /** Where the embedded Stripe simulator sends its webhooks: the webhooks app. */
  webhooksUrl: string;
  /** Handlers each bus consumer runs at once (never two of one key). */
  busConcurrency: number;
  logLevel: LogLevel;
  /** RECONCILE_INTERVAL in ms: how often the consumer app reconciles; null: never. */
  reconcileIntervalMs: number | null;
  /** Names of the secrets made up for dev mode, with their values, to print at start. */
  madeUp: Record<string, string>;
};

export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Handlers at once per consumer: Stripe allows 100 calls a second and takes about 300 ms
 * a create, so about 30 calls must be in flight to keep up with its limit.
 */
export const DEFAULT_BUS_CONCURRENCY = 32;

const port = (name: string, fallback: number) =>
  z.coerce.number({ error: `${name} must be a port number` }).int().min(0).max(65535)
    .default(fallback);

const count = (name: string, fallback: number) =>
  z.coerce.number({ error: `${name} must be a whole number of 1 or more` }).int().min(1)
    .default(fallback);

const Env = z.object({
  STRIPE_API_KEY: z.string().regex(/^(sk|rk)_(test|live)_\w+$/, {
    error: "STRIPE_API_KEY must look like sk_test_…, sk_live_… or rk_…",
  }).optional(),
  STRIPE_API_BASE: z.url({ error: "STRIPE_API_BASE must be a URL" }).optional(),
  // Stripe's are whsec_ and 32 characters; at least 16 keeps a stub like "whsec_" or
  // "whsec_test" from passing for one.
  STRIPE_WEBHOOKS_SECRET: z.string().regex(/^whsec_.{16,}$/, {
    error: "STRIPE_WEBHOOKS_SECRET must be whsec_ and 16 characters or more",
  }).optional(),
  WEBHOOKS_API_KEY: z.string().min(16, { error: "WEBHOOKS_API_KEY needs 16 characters or more" })
    .optional(),
  PRODUCT_API_TOKEN: z.string().min(16, {
    error: "PRODUCT_API_TOKEN needs 16 characters or more",
  }).optional(),
  KAFKA_BROKERS: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, {
    error: "KAFKA_BROKERS must be a comma-separated list of host:port",
  }).optional(),
  EVENTSTORE_CONNECTION_STRING: z.string().regex(/^(esdb|kurrentdb|kurrent)(\+discover)?:\/\//, {
    error: "EVENTSTORE_CONNECTION_STRING must start with esdb:// or kurrentdb://",
  }).optional(),
  STRIPE_API_VERSION: z.string().regex(/^\d{4}-\d{2}-\d{2}(\.\w+)?$/, {
    error: "STRIPE_API_VERSION must be a Stripe API version like 2026-10-28.endive",
  }).optional(),
  RECONCILE_INTERVAL: z.string().regex(/^\d+(\.\d+)?[smhd]$/, {
    error: "RECONCILE_INTERVAL must be a duration like 90s, 15m, 6h or 1d",
  }).optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  PRODUCT_API_PORT: port("PRODUCT_API_PORT", 4000),
  WEBHOOKS_PORT: port("WEBHOOKS_PORT", 7071),
  KAFKA_CONSUMER_PORT: port("KAFKA_CONSUMER_PORT", 7072),
  PRODUCT_API_PUBLIC_READS: z.enum(["true", "false"], {
    error: "PRODUCT_API_PUBLIC_READS must be true or false",
  }).default("false"),
  PRODUCT_API_MAX_SOCKETS: count("PRODUCT_API_MAX_SOCKETS", 1000),
  PRODUCT_API_MAX_SUBSCRIPTIONS_PER_SOCKET: count("PRODUCT_API_MAX_SUBSCRIPTIONS_PER_SOCKET", 100),
  WEBHOOKS_URL: z.url({ protocol: /^https?$/, error: "WEBHOOKS_URL must be an http(s) URL" })
    .optional(),
  BUS_CONCURRENCY: z.coerce.number({ error: "BUS_CONCURRENCY must be a whole number" }).int({
    error: "BUS_CONCURRENCY must be a whole number",
  }).min(1, { error: "BUS_CONCURRENCY must be 1 or more" }).max(1000, {
    error: "BUS_CONCURRENCY must be 1000 or less",
  }).default(DEFAULT_BUS_CONCURRENCY),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], {
    error: "LOG_LEVEL must be debug, info, warn or error",
  }).default("info"),
});

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "15m" as 900000; undefined (or a zero duration) as null: off. */
const durationMs = (text: string | undefined): number | null => {
  if (text === undefined) return null;
  const ms = Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS];
  return ms > 0 ? Math.round(ms) : null;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

const randomSecret = (prefix: string) =>
  prefix + [...crypto.getRandomValues(new Uint8Array(24))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Reads the configuration. `dev` allows made-up secrets; which secrets an app needs
 * outside dev mode it names in `required`.
 */
export const loadConfig = (
  env: Record<string, string | undefined>,
  { dev, required = [] }: {
    dev: boolean;
    required?: ("STRIPE_WEBHOOKS_SECRET" | "WEBHOOKS_API_KEY" | "PRODUCT_API_TOKEN")[];
  },
): Config => {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "),
    );
  }
  const e = parsed.data;
  const missing = dev ? [] : required.filter((name) => e[name] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`missing required environment variable(s): ${missing.join(", ")}`);
  }
  const madeUp: Record<string, string> = {};
  const secret = (name: keyof typeof e & string, prefix: string) => {
    const given = e[name];
    if (typeof given === "string") return given;
    return madeUp[name] = randomSecret(prefix);
  };
  return {
    dev,
    stripeApiKey: e.STRIPE_API_KEY ?? null,
    stripeApiBase: e.STRIPE_API_BASE ?? null,
    stripeApiVersion: e.STRIPE_API_VERSION ?? null,
    stripeWebhooksSecret: secret("STRIPE_WEBHOOKS_SECRET", "whsec_dev_"),
    webhooksApiKey: secret("WEBHOOKS_API_KEY", "dev_"),
    productApiToken: secret("PRODUCT_API_TOKEN", "dev_"),
    kafkaBrokers: e.KAFKA_BROKERS?.split(",") ?? null,
    eventStoreConnectionString: e.EVENTSTORE_CONNECTION_STRING ?? null,
    dataDir: e.DATA_DIR,
    productApiPort: e.PRODUCT_API_PORT,
    webhooksPort: e.WEBHOOKS_PORT,
    productApiPublicReads: e.PRODUCT_API_PUBLIC_READS === "true",
    productApiMaxSockets: e.PRODUCT_API_MAX_SOCKETS,
    productApiMaxSubscriptionsPerSocket: e.PRODUCT_API_MAX_SUBSCRIPTIONS_PER_SOCKET,
    consumerPort: e.KAFKA_CONSUMER_PORT,
    webhooksUrl: (e.WEBHOOKS_URL ?? `http://127.0.0.1:${e.WEBHOOKS_PORT}`).replace(/\/+$/, ""),
    busConcurrency: e.BUS_CONCURRENCY,
    logLevel: e.LOG_LEVEL,
    reconcileIntervalMs: durationMs(e.RECONCILE_INTERVAL),
    madeUp,
  };
};

/**
 * Every secret value of a configuration, for the logger to mask: the keys and tokens, and
 * the credentials of an EventStoreDB connection string (esdb://user:password@host…).
 */
export const secretsOf = (config: Config): string[] =>
  [
    config.stripeApiKey,
    config.stripeWebhooksSecret,
    config.webhooksApiKey,
    config.productApiToken,
    // Found as the client finds them: a password may hold "/" or "?".
    ...connectionStringSecrets(config.eventStoreConnectionString ?? ""),
  ].filter((secret): secret is string => typeof secret === "string" && secret !== "");
