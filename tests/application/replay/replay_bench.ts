// Rebuild speed (application/replay/rebuild.ts) over 1,000,000 events in one SQLite store,
// beside a raw read of the same store in the same run: the goal is a rebuild at least half
// as fast as reading alone. Figures in docs/benchmarks.md, "## Replay".
import { DatabaseSync } from "node:sqlite";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import type { Cause, EventMetadata, NewEvent } from "../../../application/ports/event_store.ts";
import { rebuild } from "../../../application/replay/rebuild.ts";

const EVENTS = Number(Deno.env.get("REPLAY_BENCH_EVENTS") ?? 1_000_000);
const PAGE = 1_000;
/** Events of one customer's story, across 6 streams: see `unit`. */
const PER_UNIT = 10;

const dir = Deno.makeTempDirSync({ prefix: "replay_bench_" });
globalThis.addEventListener("unload", () => {
  void store.close();
  Deno.removeSync(dir, { recursive: true });
});

const uuid = (kind: number, n: number) =>
  `${kind.toString(16).padStart(8, "0")}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const meta = (n: number, step: number, cause: Cause): EventMetadata => ({
  eventId: uuid(100 + step, n),
  correlationId: `req-${n}`,
  causationId: `req-${n}`,
  cause,
});
const graphql = (n: number): Cause => ({
  kind: "graphql",
  requestId: `req-${n}`,
  operation: "create",
});
const bus = (n: number): Cause => ({
  kind: "bus",
  topic: "nudges.plans",
  partition: 0,
  offset: `${n}`,
});
const stripe = (n: number): Cause => ({
  kind: "stripe",
  stripeEventId: `evt_${n}`,
  stripeEventType: "checkout.session.completed",
});

/**
 * One customer's story as the apps write it: a plan created, linked to Stripe and renamed,
 * a tier and a client created and linked, then a checkout: the Stripe event, the payment
 * confirmation and the subscription.
 */
const unit = (n: number): [string, NewEvent[]][] => {
  const at = new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString();
  const [planId, tierId, clientId] = [uuid(1, n), uuid(2, n), uuid(3, n)];
  const [paymentId, subscriptionId] = [uuid(4, n), uuid(5, n)];
  const created = Math.floor(Date.parse(at) / 1000);
  const e = (type: string, data: unknown, metadata: EventMetadata): NewEvent => ({
    type,
    data,
    metadata,
  });
  return [
    [`plan-${planId}`, [
      e("PlanCreated", {
        planId,
        at,
        name: `Plan ${n}`,
        description: "Everything a small team needs to nudge its customers",
        iconUrl: "https://cdn.example.com/icons/plan.png",
      }, meta(n, 0, graphql(n))),
      e("StripeProductLinked", { planId, at, stripeProductId: `prod_${n}` }, meta(n, 1, bus(n))),
      e("PlanUpdated", { planId, at, changes: { name: `Plan ${n} Pro` } }, meta(n, 2, graphql(n))),
    ]],
    [`priceTier-${tierId}`, [
      e("PriceTierCreated", {
        priceTierId: tierId,
        at,
        planId,
        name: "Monthly",
        unitAmount: 1900,
        currency: "usd",
        interval: "month",
        intervalCount: 1,
      }, meta(n, 3, graphql(n))),
      e(
        "StripePriceLinked",
        { priceTierId: tierId, at, stripePriceId: `price_${n}` },
        meta(n, 4, bus(n)),
      ),
    ]],
    [`client-${clientId}`, [
      e(
        "ClientCreated",
        { clientId, at, name: `Client ${n}`, email: `c${n}@example.com` },
        meta(n, 5, graphql(n)),
      ),
      e("StripeCustomerLinked", { clientId, at, stripeCustomerId: `cus_${n}` }, meta(n, 6, bus(n))),
    ]],
    [`stripeEvent-evt_${n}`, [
      e("StripeWebhookReceived", {
        stripeEventId: `evt_${n}`,
        stripeEventType: "checkout.session.completed",
        created,
        objectId: `cs_${n}`,
        event: {
          id: `evt_${n}`,
          type: "checkout.session.completed",
          created,
          data: {
            object: {
              id: `cs_${n}`,
              object: "checkout.session",
              amount_total: 1900,
              currency: "usd",
              customer: `cus_${n}`,
              client_reference_id: clientId,
              payment_status: "paid",
              subscription: `sub_${n}`,
              metadata: { nudges_plan_id: planId, nudges_price_tier_id: tierId },
            },
          },
        },
      }, meta(n, 7, stripe(n))),
    ]],
    [`paymentConfirmation-${paymentId}`, [
      e("PaymentConfirmationRecorded", {
        paymentConfirmationId: paymentId,
        at,
        stripeEventId: `evt_${n}`,
        stripeEventCreated: created,
        stripeCheckoutSessionId: `cs_${n}`,
        clientId,
        planId,
        priceTierId: tierId,
        amountTotal: 1900,
        currency: "usd",
        paymentStatus: "paid",
      }, meta(n, 8, stripe(n))),
    ]],
    [`planSubscription-${subscriptionId}`, [
      e("PlanSubscriptionStarted", {
        planSubscriptionId: subscriptionId,
        at,
        clientId,
        planId,
        priceTierId: tierId,
        stripeSubscriptionId: `sub_${n}`,
        stripeCustomerId: `cus_${n}`,
        paymentConfirmationId: paymentId,
        status: "active",
      }, meta(n, 9, stripe(n))),
    ]],
  ];
};

/**
 * Writes the events straight into the store's table, 100,000 rows a transaction: appends
 * one stream at a time would take over a minute. The rows are what append() writes (its
 * columns, JSON texts and one recordedAt per append); the store is opened afterwards, so
 * a schema this does not match fails loudly.
 */
const seed = async (path: string) => {
  await sqliteEventStore(path).close();
  const db = new DatabaseSync(path);
  const insert = db.prepare(
    "INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) " +
      "VALUES (?, ?, ?, ?, ?, ?)",
  );
  let written = 0;
  db.exec("BEGIN");
  for (let n = 0; written < EVENTS; n++) {
    const recordedAt = new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString();
    for (const [stream, events] of unit(n)) {
      events.forEach((event, revision) =>
        insert.run(
          stream,
          revision,
          event.type,
          JSON.stringify(event.data),
          JSON.stringify(event.metadata),
          recordedAt,
        )
      );
      written += events.length;
    }
    if (written % 100_000 === 0) db.exec("COMMIT; BEGIN");
  }
  db.exec("COMMIT");
  db.close();
};

const path = `${dir}/events.sqlite`;
const seedStart = performance.now();
await seed(path);
console.error(
  `seeded ${EVENTS} events in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
);
const store = sqliteEventStore(path);

const rawRead = async () => {
  let after = 0;
  let count = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: PAGE });
    if (page.length === 0) break;
    count += page.length;
    after = page[page.length - 1]!.position;
  }
  if (count !== EVENTS) throw new Error(`read ${count} events, wrote ${EVENTS}`);
};

const label = EVENTS.toLocaleString("en");
Deno.bench(`raw read: readAll scan of ${label} events, ${PAGE} a page`, {
  group: "replay",
  baseline: true,
  n: 3,
  warmup: 1,
}, rawRead);

Deno.bench(`rebuild: every projection from ${label} events`, {
  group: "replay",
  n: 3,
  warmup: 1,
}, async () => {
  const rebuilt = await rebuild(store, { pageSize: PAGE });
  if (rebuilt.events !== EVENTS || rebuilt.counts.plans !== EVENTS / PER_UNIT) {
    throw new Error(`rebuilt ${rebuilt.events} events, ${rebuilt.counts.plans} plans`);
  }
});
