/**
 * Which Stripe an operator command (reconcile, webhooks register) calls: STRIPE_API_KEY's
 * (at STRIPE_API_BASE), else the simulator of the dev run under DATA_DIR.
 * @module
 */
import { type Config, ConfigError } from "./config.ts";
import { readRunFile } from "./dev/run_file.ts";

/** The simulator takes any test-mode key; this one names who calls. */
const SIMULATOR_KEY = "sk_test_nudges_command";

/** STRIPE_API_KEY's Stripe, else the running dev simulator. */
export const stripeToCall = async (
  config: Config,
): Promise<{ apiKey: string; apiBase: string | null }> => {
  if (config.stripeApiKey !== null) {
    return { apiKey: config.stripeApiKey, apiBase: config.stripeApiBase };
  }
  const run = await readRunFile(config.dataDir);
  if (run?.stripeSimulator) return { apiKey: SIMULATOR_KEY, apiBase: run.stripeSimulator };
  throw new ConfigError(
    `STRIPE_API_KEY is unset and no dev run with a Stripe simulator was found under ${config.dataDir} ` +
      "(start deno task dev, or set STRIPE_API_KEY)",
  );
};
