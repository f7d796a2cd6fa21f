import assert from "node:assert/strict";
import {
  type BillingInterval,
  type PriceTierCommand,
  priceTierDecider,
  type PriceTierEvent,
  priceTierStream,
  type PriceTierTerms,
} from "../../domain/price_tier.ts";
import { spec } from "./decider_spec.ts";

const tier = spec(priceTierDecider);
const priceTierId = "0b5e8f3a-61c2-4e1d-8f7a-9d2c4b6a1e00";
const planId = "7f1c2a9e-4d0b-4b8e-9a51-2f6d3c8e1a00";
// Values of the Stripe fixtures (price price_1PgafmB7WZ01zgkW6dKueIc5: 2000 usd monthly).
const stripePriceId = "price_1PgafmB7WZ01zgkW6dKueIc5";
const stripeEventId = "evt_1Pgc76B7WZ01zgkWwyRHS12y";
const T = 1721948530;
const at = (s = 0) => new Date((T + s) * 1000).toISOString();
const stripe = (created: number) => ({ stripeEventId, stripeEventCreated: created });

const terms: PriceTierTerms = {
  planId,
  name: "Monthly",
  unitAmount: 2000,
  currency: "usd",
  interval: "month",
  intervalCount: 1,
};
const create = (overrides: Partial<PriceTierTerms> = {}): PriceTierCommand => ({
  type: "CreatePriceTier",
  data: { priceTierId, at: at(), ...terms, ...overrides },
});
const createdWith = (overrides: Partial<PriceTierTerms> = {}): PriceTierEvent => ({
  type: "PriceTierCreated",
  data: { priceTierId, at: at(), ...terms, ...overrides },
});
const created = createdWith();
const linked: PriceTierEvent = {
  type: "StripePriceLinked",
  data: { priceTierId, at: at(1), stripePriceId },
};
const deleted: PriceTierEvent = { type: "PriceTierDeleted", data: { priceTierId, at: at(2) } };
const importData = {
  priceTierId,
  at: at(5),
  ...stripe(T),
  ...terms,
  name: null,
  stripePriceId,
  isActive: true,
};
const imported: PriceTierEvent = { type: "PriceTierImportedFromStripe", data: importData };

type StripeTierChanges = { name?: string | null; unitAmount?: number; isActive?: boolean };
const stripeChange = (created: number, changes: StripeTierChanges, s = 60): PriceTierCommand => ({
  type: "ApplyStripePriceChange",
  data: { priceTierId, at: at(s), ...stripe(created), ...changes },
});
const changedInStripe = (created: number, changes: StripeTierChanges, s = 60): PriceTierEvent => ({
  type: "PriceTierChangedInStripe",
  data: { priceTierId, at: at(s), ...stripe(created), changes },
});
const stripeDeletion = (created: number, s = 60): PriceTierCommand => ({
  type: "ApplyStripePriceDeletion",
  data: { priceTierId, at: at(s), ...stripe(created) },
});
const deletedInStripe = (created: number, s = 60): PriceTierEvent => ({
  type: "PriceTierDeletedInStripe",
  data: { priceTierId, at: at(s), ...stripe(created) },
});

// CreatePriceTier

Deno.test("decide(CreatePriceTier) creates a monthly price", () =>
  tier.given([]).when(create()).then([created]));

Deno.test("decide(CreatePriceTier) creates a one-time price without an interval", () =>
  tier.given([]).when(create({ interval: null, intervalCount: null }))
    .then([createdWith({ interval: null, intervalCount: null })]));

Deno.test("decide(CreatePriceTier) counts one interval when intervalCount is not given", () =>
  tier.given([]).when(create({ interval: "year", intervalCount: null }))
    .then([createdWith({ interval: "year", intervalCount: 1 })]));

Deno.test("decide(CreatePriceTier) trims the name and keeps a blank one as null", () => {
  tier.given([]).when(create({ name: "  Monthly " })).then([created]);
  tier.given([]).when(create({ name: "  " })).then([createdWith({ name: null })]);
});

Deno.test("decide(CreatePriceTier) accepts unitAmount 0 and 99,999,999", () => {
  tier.given([]).when(create({ unitAmount: 0 })).then([createdWith({ unitAmount: 0 })]);
  tier.given([]).when(create({ unitAmount: 99_999_999 }))
    .then([createdWith({ unitAmount: 99_999_999 })]);
});

for (const unitAmount of [-1, 100_000_000, 19.99, Number.NaN, Number.POSITIVE_INFINITY]) {
  Deno.test(`decide(CreatePriceTier) refuses unitAmount ${unitAmount}`, () =>
    tier.given([]).when(create({ unitAmount })).thenRefused(
      "UnitAmountInvalid",
      "invalid",
      new RegExp(String(unitAmount)),
    ));
}

for (const currency of ["USD", "us", "usdt", "u5d", "", " usd", "€ur"]) {
  Deno.test(`decide(CreatePriceTier) refuses currency "${currency}"`, () =>
    tier.given([]).when(create({ currency })).thenRefused("CurrencyInvalid", "invalid"));
}

for (const currency of ["usd", "eur", "jpy"]) {
  Deno.test(`decide(CreatePriceTier) accepts currency "${currency}"`, () =>
    tier.given([]).when(create({ currency })).then([createdWith({ currency })]));
}

for (const interval of ["fortnight", "MONTH", "", "toString", "constructor"]) {
  Deno.test(`decide(CreatePriceTier) refuses interval "${interval}"`, () =>
    tier.given([]).when(create({ interval: interval as BillingInterval })).thenRefused(
      "IntervalInvalid",
      "invalid",
    ));
}

/** The most intervals of each unit that still fit in one year. */
const longest: [BillingInterval, number][] = [
  ["day", 365],
  ["week", 52],
  ["month", 12],
  ["year", 1],
];
for (const [interval, max] of longest) {
  Deno.test(`decide(CreatePriceTier) accepts every ${max} ${interval}s, at most one year`, () =>
    tier.given([]).when(create({ interval, intervalCount: max }))
      .then([createdWith({ interval, intervalCount: max })]));

  Deno.test(`decide(CreatePriceTier) refuses every ${max + 1} ${interval}s, over one year`, () =>
    tier.given([]).when(create({ interval, intervalCount: max + 1 })).thenRefused(
      "IntervalCountInvalid",
      "invalid",
      /one year/,
    ));
}

for (const intervalCount of [0, -1, 1.5]) {
  Deno.test(`decide(CreatePriceTier) refuses intervalCount ${intervalCount}`, () =>
    tier.given([]).when(create({ interval: "week", intervalCount })).thenRefused(
      "IntervalCountInvalid",
      "invalid",
    ));
}

Deno.test("decide(CreatePriceTier) refuses an intervalCount without an interval", () =>
  tier.given([]).when(create({ interval: null, intervalCount: 3 })).thenRefused(
    "IntervalCountWithoutInterval",
    "invalid",
  ));

Deno.test("decide(CreatePriceTier) refuses a price tier that exists already", () =>
  tier.given([created]).when(create()).thenRefused("PriceTierExists", "conflict"));

// DeletePriceTier

const deleteTier: PriceTierCommand = { type: "DeletePriceTier", data: { priceTierId, at: at(2) } };

Deno.test("decide(DeletePriceTier) archives the tier", () =>
  tier.given([created, linked]).when(deleteTier).then([deleted]));

Deno.test("decide(DeletePriceTier) on a deleted tier produces no events", () =>
  tier.given([created, deleted]).when(deleteTier).thenNothing());

Deno.test("decide(DeletePriceTier) on a tier deleted in Stripe produces no events", () =>
  tier.given([created, linked, deletedInStripe(T + 1)]).when(deleteTier).thenNothing());

Deno.test("decide(DeletePriceTier) refuses a tier that does not exist", () =>
  tier.given([]).when(deleteTier).thenRefused("PriceTierNotFound", "not_found"));

// ImportStripePrice

Deno.test("decide(ImportStripePrice) imports a price made in Stripe", () =>
  tier.given([]).when({ type: "ImportStripePrice", data: importData }).then([imported]));

Deno.test("decide(ImportStripePrice) keeps a blank nickname as null", () =>
  tier.given([]).when({ type: "ImportStripePrice", data: { ...importData, name: " " } })
    .then([imported]));

Deno.test("decide(ImportStripePrice) refuses terms Nudges cannot hold", () => {
  const importing = (overrides: Partial<PriceTierTerms>) =>
    tier.given([]).when({ type: "ImportStripePrice", data: { ...importData, ...overrides } });
  importing({ unitAmount: -5 }).thenRefused("UnitAmountInvalid", "invalid");
  importing({ currency: "USD" }).thenRefused("CurrencyInvalid", "invalid");
  importing({ interval: "month", intervalCount: 37 }).thenRefused(
    "IntervalCountInvalid",
    "invalid",
  );
});

Deno.test("decide(ImportStripePrice) refuses a price tier that exists already", () =>
  tier.given([created]).when({ type: "ImportStripePrice", data: importData }).thenRefused(
    "PriceTierExists",
    "conflict",
  ));

// ApplyStripePriceChange

Deno.test("decide(ApplyStripePriceChange) applies the fields Stripe changed", () =>
  tier.given([created, linked]).when(stripeChange(T + 30, { name: "Monthly", isActive: false }))
    .then([changedInStripe(T + 30, { isActive: false })]));

Deno.test("decide(ApplyStripePriceChange) trims the nickname and keeps a blank one as null", () =>
  tier.given([created, linked]).when(stripeChange(T + 30, { name: "  " }))
    .then([changedInStripe(T + 30, { name: null })]));

Deno.test("decide(ApplyStripePriceChange) changing nothing produces no events", () =>
  tier.given([created, linked]).when(
    stripeChange(T + 30, { name: " Monthly ", unitAmount: 2000, isActive: true }),
  ).thenNothing());

Deno.test("decide(ApplyStripePriceChange) ignores fields Stripe did not send", () =>
  tier.given([created, linked]).when(
    stripeChange(T + 30, { name: undefined, unitAmount: undefined, isActive: false }),
  ).then([changedInStripe(T + 30, { isActive: false })]));

Deno.test("decide(ApplyStripePriceChange) refuses a bad unitAmount", () =>
  tier.given([created, linked]).when(stripeChange(T + 30, { unitAmount: 100_000_000 }))
    .thenRefused("UnitAmountInvalid", "invalid"));

Deno.test("decide(ApplyStripePriceChange) strictly older than the last Nudges change does nothing", () =>
  tier.given([created, linked]).when(stripeChange(T - 1, { isActive: false })).thenNothing());

Deno.test("decide(ApplyStripePriceChange) in the same second as the last Nudges change applies", () =>
  tier.given([created, linked]).when(stripeChange(T, { isActive: false }))
    .then([changedInStripe(T, { isActive: false })]));

Deno.test("decide(ApplyStripePriceChange) strictly older than the last Stripe change does nothing", () =>
  tier.given([created, linked, changedInStripe(T + 30, { isActive: false })])
    .when(stripeChange(T + 29, { isActive: true }, 61)).thenNothing());

Deno.test("decide(ApplyStripePriceChange) two changes in the same second both apply", () =>
  tier.given([created, linked, changedInStripe(T + 30, { isActive: false })])
    .when(stripeChange(T + 30, { isActive: true }, 61))
    .then([changedInStripe(T + 30, { isActive: true }, 61)]));

Deno.test("decide(ApplyStripePriceChange) after the tier was deleted does nothing", () => {
  tier.given([created, linked, deleted]).when(stripeChange(T + 30, { isActive: true }))
    .thenNothing();
  tier.given([created, linked, deletedInStripe(T + 20)])
    .when(stripeChange(T + 30, { isActive: true })).thenNothing();
});

Deno.test("decide(ApplyStripePriceChange) refuses a tier that does not exist", () =>
  tier.given([]).when(stripeChange(T, { isActive: false })).thenRefused(
    "PriceTierNotFound",
    "not_found",
  ));

// ApplyStripePriceDeletion

Deno.test("decide(ApplyStripePriceDeletion) deletes the tier", () =>
  tier.given([created, linked]).when(stripeDeletion(T + 40)).then([deletedInStripe(T + 40)]));

Deno.test("decide(ApplyStripePriceDeletion) in the same second as the last change applies", () =>
  tier.given([created, linked, changedInStripe(T + 40, { isActive: false })])
    .when(stripeDeletion(T + 40)).then([deletedInStripe(T + 40)]));

Deno.test("decide(ApplyStripePriceDeletion) strictly older than the last change does nothing", () =>
  tier.given([created, linked, changedInStripe(T + 40, { isActive: false })])
    .when(stripeDeletion(T + 39)).thenNothing());

Deno.test("decide(ApplyStripePriceDeletion) on a deleted tier produces no events", () =>
  tier.given([created, deleted]).when(stripeDeletion(T + 40)).thenNothing());

Deno.test("decide(ApplyStripePriceDeletion) refuses a tier that does not exist", () =>
  tier.given([]).when(stripeDeletion(T)).thenRefused("PriceTierNotFound", "not_found"));

// LinkStripePrice

const link = (id: string): PriceTierCommand => ({
  type: "LinkStripePrice",
  data: { priceTierId, at: at(1), stripePriceId: id },
});

Deno.test("decide(LinkStripePrice) links the tier to its Stripe price", () =>
  tier.given([created]).when(link(stripePriceId)).then([linked]));

Deno.test("decide(LinkStripePrice) linking the same price again produces no events", () =>
  tier.given([created, linked]).when(link(stripePriceId)).thenNothing());

Deno.test("decide(LinkStripePrice) refuses a different price than the linked one", () =>
  tier.given([created, linked]).when(link("price_Other")).thenRefused(
    "StripeLinkMismatch",
    "conflict",
    /price_Other/,
  ));

Deno.test("decide(LinkStripePrice) refuses a tier that does not exist", () =>
  tier.given([]).when(link(stripePriceId)).thenRefused("PriceTierNotFound", "not_found"));

// MarkPriceTierSyncFailed

const markFailed = (error: string): PriceTierCommand => ({
  type: "MarkPriceTierSyncFailed",
  data: { priceTierId, at: at(3), error },
});
const failed = (error: string): PriceTierEvent => ({
  type: "PriceTierSyncFailed",
  data: { priceTierId, at: at(3), error },
});

Deno.test("decide(MarkPriceTierSyncFailed) records Stripe's message", () =>
  tier.given([created]).when(markFailed("No such product: 'prod_x'"))
    .then([failed("No such product: 'prod_x'")]));

Deno.test("decide(MarkPriceTierSyncFailed) with the same message again produces no events", () =>
  tier.given([created, failed("boom")]).when(markFailed("boom")).thenNothing());

Deno.test("decide(MarkPriceTierSyncFailed) with a new message records it", () =>
  tier.given([created, failed("boom")]).when(markFailed("bang")).then([failed("bang")]));

Deno.test("decide(MarkPriceTierSyncFailed) refuses a tier that does not exist", () =>
  tier.given([]).when(markFailed("boom")).thenRefused("PriceTierNotFound", "not_found"));

// evolve

const createdState = {
  id: priceTierId,
  ...terms,
  isActive: true,
  stripePriceId: null,
  syncStatus: "PENDING" as const,
  syncError: null,
  deleted: false,
  createdAt: at(),
  updatedAt: at(),
  lastChangedAt: T,
};

Deno.test("evolve() starts with no tier", () => tier.given([]).thenState(null));

Deno.test("evolve() a created tier is active and waits for Stripe", () =>
  tier.given([created]).thenState(createdState));

Deno.test("evolve() syncStatus goes PENDING, SYNCED on the link, FAILED with Stripe's message", () => {
  tier.given([created, linked]).thenState({ ...createdState, stripePriceId, syncStatus: "SYNCED" });
  tier.given([created, linked, failed("boom")]).thenState({
    ...createdState,
    stripePriceId,
    syncStatus: "FAILED",
    syncError: "boom",
  });
});

Deno.test("evolve() an imported tier is linked and synced from the start", () =>
  tier.given([imported]).thenState({
    ...createdState,
    name: null,
    stripePriceId,
    syncStatus: "SYNCED",
    createdAt: at(5),
    updatedAt: at(5),
  }));

Deno.test("evolve() a Stripe change keeps Stripe's time as the last change", () =>
  tier.given([created, changedInStripe(T + 30, { isActive: false, name: "Old" }, 600)]).thenState({
    ...createdState,
    name: "Old",
    isActive: false,
    updatedAt: at(600),
    lastChangedAt: T + 30,
  }));

Deno.test("evolve() a deleted tier is inactive", () => {
  tier.given([created, deleted]).thenState({
    ...createdState,
    isActive: false,
    deleted: true,
    updatedAt: at(2),
    lastChangedAt: T + 2,
  });
  tier.given([created, deletedInStripe(T + 40, 90)]).thenState({
    ...createdState,
    isActive: false,
    deleted: true,
    updatedAt: at(90),
    lastChangedAt: T + 40,
  });
});

Deno.test("priceTierStream() names the tier's stream", () =>
  assert.equal(priceTierStream(priceTierId), `priceTier-${priceTierId}`));

Deno.test("decide(ImportStripePrice) takes billing periods of up to three years, as Stripe does", () => {
  const twoYears = {
    priceTierId: "t-import",
    at: "2026-03-01T12:00:00.000Z",
    stripeEventId: "evt_1",
    stripeEventCreated: 1_772_366_400,
    stripePriceId: "price_1PgafmB7WZ01zgkW6dKueIc5",
    planId: "p-1",
    name: null,
    unitAmount: 2000,
    currency: "usd",
    interval: "month" as const,
    intervalCount: 24,
    isActive: true,
  };
  const events = priceTierDecider.decide({ type: "ImportStripePrice", data: twoYears }, null);
  assert.equal(events.length, 1);
  assert.throws(
    () =>
      priceTierDecider.decide(
        { type: "ImportStripePrice", data: { ...twoYears, intervalCount: 37 } },
        null,
      ),
    /at most 3 years/,
  );
});
