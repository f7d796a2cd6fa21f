/**
 * One reconcile run: (optionally) feed Stripe's missed events through the webhook record,
 * read both sides, compare, confirm that twins missing from the lists are gone, and
 * repair (products and customers first, then prices, which need their products, then
 * subscriptions, which need their prices and customers). A second run right after finds
 * nothing left to do.
 * @module
 */
import { randomId } from "../ports/clock.ts";
import type { StripeListKind } from "../ports/stripe_gateway.ts";
import { compare, type Ignored } from "./compare.ts";
import type { Drift, Found, RepairOutcome } from "./drift.ts";
import { type EventsFed, feedEventsSince } from "./events_since.ts";
import { readNudgesSide } from "./nudges_side.ts";
import { repair } from "./repair.ts";
import { type ReconcileDeps, runContext } from "./run_context.ts";
import { LIST_KINDS, readStripeSide } from "./stripe_side.ts";

export type ReconcileOptions = {
  /** Report only: nothing is written, in Nudges or in Stripe. */
  dryRun?: boolean;
  /** Whole seconds: first feed Stripe's events created since then. */
  eventsSince?: number;
  runId?: string;
  /**
   * Repairs in flight at once (default 32: 100 requests/s at 300 ms each); the gateway
   * keeps to the rate limit.
   */
  concurrency?: number;
  /** Progress for people, one line at a time (the app writes it to stderr). */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
};

export type ReconcileReport = {
  runId: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  listed: Record<StripeListKind, number>;
  nudges: { plans: number; priceTiers: number; clients: number; planSubscriptions: number };
  events: EventsFed | null;
  drifts: Found[];
  ignored: Ignored[];
  /** Drifts found, repaired, and left (failed, unrepairable, or found by a dry run). */
  found: number;
  repaired: number;
  remaining: number;
};

/** Runs `work` on every item, at most `limit` at a time. */
const eachLimited = async <T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

const LIST_OF = {
  product: "products",
  price: "prices",
  customer: "customers",
  subscription: "subscriptions",
} as const;

export const reconcile = async (
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> => {
  const { dryRun = false, concurrency = 32, signal } = options;
  const progress = options.onProgress ?? (() => {});
  const run = runContext(deps, options.runId ?? randomId());
  const startedAt = deps.clock();
  const started = performance.now();

  const events = options.eventsSince === undefined
    ? null
    : await feedEventsSince(run, options.eventsSince, { dryRun, progress, signal });

  const pages = new Map<StripeListKind, number>();
  const [nudges, stripe] = await Promise.all([
    readNudgesSide(deps.store, signal),
    readStripeSide(deps.gateway, {
      signal,
      onPage: (kind, listed, done) => {
        pages.set(kind, (pages.get(kind) ?? 0) + 1);
        if (done || pages.get(kind)! % 10 === 0) {
          progress(`${kind}: ${listed} listed${done ? "" : " so far"}`);
        }
      },
    }),
  ]);
  const comparison = compare(nudges, stripe);
  // A linked twin the lists lack may have been made after its list was read: only one
  // Stripe does not have is gone.
  const gone = await eachLimited(
    comparison.unlisted,
    concurrency,
    async (drift) =>
      await deps.gateway.retrieve(LIST_OF[drift.kind], drift.stripeId!) === null ? drift : null,
  );
  const drifts: Drift[] = [
    ...comparison.drifts,
    ...gone.filter((drift): drift is Drift => drift !== null),
  ];
  progress(`${drifts.length} drift(s) found${dryRun ? " (dry run: nothing repaired)" : ""}`);

  const outcomes = new Map<Drift, RepairOutcome>();
  if (!dryRun) {
    // Prices after products: an imported price needs its plan, a pushed one its product;
    // subscriptions last: an imported one needs its tier and its client.
    const phases = [
      drifts.filter((d) => d.kind === "product" || d.kind === "customer"),
      drifts.filter((d) => d.kind === "price"),
      drifts.filter((d) => d.kind === "subscription"),
    ];
    for (const phase of phases) {
      let done = 0;
      await eachLimited(phase, concurrency, async (drift) => {
        signal?.throwIfAborted();
        outcomes.set(drift, await repair(run, drift));
        if (++done % 100 === 0) progress(`${done} of ${phase.length} repairs made`);
      });
    }
  }
  const found: Found[] = drifts.map((drift) => ({
    ...drift,
    outcome: outcomes.get(drift) ?? { status: "found" },
  }));
  const repaired = found.filter((d) => d.outcome.status === "repaired").length;
  return {
    runId: run.runId,
    dryRun,
    startedAt,
    finishedAt: deps.clock(),
    seconds: (performance.now() - started) / 1000,
    listed: Object.fromEntries(
      LIST_KINDS.map((kind) => [kind, stripe[kind].objects.length]),
    ) as Record<
      StripeListKind,
      number
    >,
    nudges: {
      plans: nudges.plans.size,
      priceTiers: nudges.priceTiers.size,
      clients: nudges.clients.size,
      planSubscriptions: nudges.planSubscriptions.size,
    },
    events,
    drifts: found,
    ignored: comparison.ignored,
    found: found.length,
    repaired,
    remaining: found.length - repaired,
  };
};
