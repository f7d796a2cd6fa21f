/**
 * `--events-since`: Stripe's list of events (it keeps 30 days) of the types Nudges
 * handles, recorded as the webhook endpoint records them, oldest first. An event the
 * endpoint recorded already is a duplicate and changes nothing; the consumer applies the
 * new ones as it applies webhooks.
 * @module
 */
import { recordStripeWebhook } from "../inbound/mod.ts";
import type { StripeRecord } from "../ports/stripe_gateway.ts";
import { HANDLED_STRIPE_EVENT_TYPES } from "../shared/stripe_events.ts";
import type { RunContext } from "./run_context.ts";

export type EventsFed = {
  since: string;
  listed: number;
  recorded: number;
  duplicate: number;
  ignored: number;
};

/** Stripe keeps events for 30 days: older ones cannot be listed. */
export const EVENTS_KEPT_DAYS = 30;

export const feedEventsSince = async (
  run: RunContext,
  since: number,
  { dryRun, progress, signal }: {
    dryRun: boolean;
    progress: (line: string) => void;
    signal?: AbortSignal;
  },
): Promise<EventsFed> => {
  const events: StripeRecord[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const page = await run.gateway.listEvents({
      createdGte: since,
      types: HANDLED_STRIPE_EVENT_TYPES,
      startingAfter,
      limit: 100,
    });
    events.push(...page.data);
    startingAfter = page.data.at(-1)?.id;
    if (!page.hasMore || startingAfter === undefined) break;
  }
  progress(`events: ${events.length} listed since ${new Date(since * 1000).toISOString()}`);
  const fed: EventsFed = {
    since: new Date(since * 1000).toISOString(),
    listed: events.length,
    recorded: 0,
    duplicate: 0,
    ignored: 0,
  };
  if (dryRun) return fed;
  // Stripe lists newest first; the endpoint would have recorded them oldest first.
  for (const event of events.reverse()) {
    fed[await recordStripeWebhook(run.store, event)]++;
  }
  progress(`events: ${fed.recorded} recorded, ${fed.duplicate} recorded before`);
  return fed;
};
