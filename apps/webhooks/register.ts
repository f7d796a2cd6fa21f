/**
 * `deno task webhooks register <public base URL>`: creates (or brings back in line) the
 * Stripe webhook endpoint of this deployment and prints its signing secret the one time
 * Stripe returns it (application/webhook_endpoint/register.ts). Stripe is STRIPE_API_KEY's
 * (at STRIPE_API_BASE), or the running dev simulator found through DATA_DIR.
 * @module
 */
import { noMetrics } from "../../application/ports/metrics.ts";
import {
  registerWebhookEndpoint,
  withoutCode,
} from "../../application/webhook_endpoint/register.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { stripeToCall } from "../command_stripe.ts";
import { appLogger, openStripe, stripeApiVersion } from "../wiring.ts";

export const REGISTER_USAGE = `Usage: deno task webhooks register <public base URL>

Creates the Stripe webhook endpoint <URL>/api/StripeWebhookHandler?code=<WEBHOOKS_API_KEY>
with every event type Nudges handles and the pinned API version (STRIPE_API_VERSION, else
the SDK's), or updates the one that exists for that URL; run again, it changes nothing.
Prints the signing secret (set it as STRIPE_WEBHOOKS_SECRET) when Stripe makes the endpoint:
Stripe shows it only then. Needs STRIPE_API_KEY and WEBHOOKS_API_KEY.
Exit codes: 0 done, 1 failed (or the endpoint has another API version), 2 bad arguments.`;

/** The exit code; `args` are those after "register". */
export const register = async (args: readonly string[]): Promise<number> => {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(REGISTER_USAGE);
    return 0;
  }
  if (args.length !== 1 || !/^https?:\/\/[^\s/]+/.test(args[0]!)) {
    console.error(`webhooks register: give one public http(s) base URL\n\n${REGISTER_USAGE}`);
    return 2;
  }
  try {
    const config = loadConfig(Deno.env.toObject(), { dev: false, required: ["WEBHOOKS_API_KEY"] });
    const logger = appLogger(config, "webhooks-register");
    const stripe = openStripe(config, {
      ...await stripeToCall(config),
      metrics: noMetrics,
      logger,
    });
    try {
      const registered = await registerWebhookEndpoint(stripe.gateway, {
        baseUrl: args[0]!,
        code: config.webhooksApiKey,
        apiVersion: stripeApiVersion(config),
      });
      const { endpoint } = registered;
      const where = `${endpoint.id} for ${withoutCode(endpoint.url)}`;
      switch (registered.action) {
        case "created":
          console.log(`created webhook endpoint ${where} (API version ${endpoint.apiVersion})`);
          console.log(`signing secret (shown once; set it as STRIPE_WEBHOOKS_SECRET):`);
          console.log(registered.secret ?? "(Stripe returned none)");
          return 0;
        case "updated":
          console.log(`updated webhook endpoint ${where}: its events, URL and status`);
          return 0;
        case "unchanged":
          console.log(`webhook endpoint ${where} is as it should be: nothing changed`);
          return 0;
        case "versionDiffers":
          console.error(
            `webhooks register: endpoint ${where} has API version ${endpoint.apiVersion}, not the ` +
              `pinned ${registered.pinned}; Stripe cannot change it: delete the endpoint in the ` +
              "Dashboard and run this again (the new endpoint gets a new signing secret)",
          );
          return 1;
      }
    } finally {
      stripe.dispose();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`webhooks register: ${error instanceof ConfigError ? "" : "failed: "}${message}`);
    return 1;
  }
};
