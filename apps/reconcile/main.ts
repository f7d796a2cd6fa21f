/**
 * `deno task reconcile [--dry-run] [--json] [--events-since <ISO time>]`: compares Nudges
 * with Stripe and repairs the drift through the domain (application/reconcile/; USAGE
 * there). Stripe is STRIPE_API_KEY's (at STRIPE_API_BASE), or the simulator of the dev
 * run found through DATA_DIR; the event store is the apps' own.
 * @module
 */
import { noMetrics } from "../../application/ports/metrics.ts";
import { systemClock } from "../../application/ports/clock.ts";
import {
  parseReconcileOptions,
  type ReconcileCliOptions,
  USAGE,
  UsageError,
} from "../../application/reconcile/options.ts";
import { exitCodeOf, reportJson, reportText } from "../../application/reconcile/report.ts";
import { reconcile } from "../../application/reconcile/run.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { stripeToCall } from "../command_stripe.ts";
import { appLogger, openEventStore, openStripe } from "../wiring.ts";

const main = async (options: ReconcileCliOptions): Promise<number> => {
  const config = loadConfig(Deno.env.toObject(), { dev: true });
  const logger = appLogger(config, "reconcile");
  const stripe = openStripe(config, { ...await stripeToCall(config), metrics: noMetrics, logger });
  const store = await openEventStore(config, logger);
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    const report = await reconcile(
      { store, gateway: stripe.gateway, clock: systemClock, logger },
      {
        dryRun: options.dryRun,
        eventsSince: options.eventsSince,
        signal: stopping.signal,
        onProgress: (line) => console.error(`reconcile: ${line}`),
      },
    );
    if (options.json) console.log(JSON.stringify(reportJson(report), null, 2));
    else await Deno.stdout.write(new TextEncoder().encode(reportText(report)));
    return exitCodeOf(report);
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    stripe.dispose();
    await store.close();
  }
};

if (import.meta.main) {
  let options: ReconcileCliOptions;
  try {
    options = parseReconcileOptions(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`reconcile: ${error.message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    Deno.exit(await main(options));
  } catch (error) {
    // Only the message: never an error's whole object, which may hold a request's headers.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`reconcile: ${error instanceof ConfigError ? "" : "failed: "}${message}`);
    Deno.exit(1);
  }
}
