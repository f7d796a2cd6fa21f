/**
 * The options of `deno task reconcile`, checked before anything is opened.
 * @module
 */
import { EVENTS_KEPT_DAYS } from "./events_since.ts";

export type ReconcileCliOptions = {
  help: boolean;
  dryRun: boolean;
  json: boolean;
  /** Whole seconds. */
  eventsSince?: number;
};

export const USAGE = `Usage: deno task reconcile [--dry-run] [--json] [--events-since <ISO time>]

Compares Nudges with Stripe (products, prices, customers, subscriptions, every page) and
repairs through the domain: imports what Nudges lacks, applies Stripe's newer values, links
a twin found by metadata.nudges_* instead of making another, pushes what never reached
Stripe. Every repair's events name the run (cause: reconcile, runId).

Options:
  --dry-run                report the drift only: nothing is written, in Nudges or in Stripe
  --json                   the report as JSON on stdout (progress stays on stderr)
  --events-since <time>    first record Stripe's events since <time> (ISO 8601 with a zone,
                           at most ${EVENTS_KEPT_DAYS} days ago) as the webhook endpoint would:
                           events recorded before change nothing
  -h, --help               this text

Stripe: STRIPE_API_KEY (at STRIPE_API_BASE), or in dev mode the running simulator, found
through DATA_DIR/dev_run.json. The event store: the apps' (EVENTSTORE_CONNECTION_STRING, else
DATA_DIR/events.sqlite). Safe while the apps run; a second run right after changes nothing.
Exit codes: 0 in line afterwards (with --dry-run: no drift found), 1 drift remains (or was
found), 2 bad options.`;

export class UsageError extends Error {
  override name = "UsageError";
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

const parseSince = (text: string | undefined, now: number): number => {
  const ms = text !== undefined && ISO_INSTANT.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--events-since needs an ISO 8601 time with a zone, e.g. 2025-01-15T10:00:00Z, got "${
        text ?? ""
      }"`,
    );
  }
  if (ms > now) throw new UsageError(`--events-since ${text} is in the future`);
  if (ms < now - EVENTS_KEPT_DAYS * 86_400_000) {
    throw new UsageError(
      `--events-since ${text} is more than ${EVENTS_KEPT_DAYS} days ago: Stripe keeps events for ${EVENTS_KEPT_DAYS} days`,
    );
  }
  return Math.floor(ms / 1000);
};

/** The options in `args`; throws UsageError saying what is wrong. */
export const parseReconcileOptions = (
  args: readonly string[],
  now = Date.now(),
): ReconcileCliOptions => {
  const options: ReconcileCliOptions = { help: false, dryRun: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.startsWith("--events-since=")
      ? ["--events-since", arg.slice("--events-since=".length)]
      : [arg, undefined];
    switch (name) {
      case "-h":
      case "--help":
        options.help = true;
        break;
      case "--dry-run":
        options.dryRun = true;
        break;
      case "--json":
        options.json = true;
        break;
      case "--events-since":
        if (options.eventsSince !== undefined) throw new UsageError("--events-since given twice");
        options.eventsSince = parseSince(inline ?? args[++i], now);
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  return options;
};
