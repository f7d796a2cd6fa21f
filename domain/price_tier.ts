/**
 * PriceTier: one price of a plan, twinned with a Stripe Price. Stripe prices are
 * immutable but for a few fields, so a tier is created, archived, or changed in Stripe.
 * @module
 */
import { conflict, type Decider, invalid, notFound, unreachable } from "./decider.ts";
import { changed, epochSecond, isStale, type StripeChange } from "./stripe_time.ts";
import { failed, isFailedWith, linked, needsLink, type SyncStatus, unlinked } from "./sync.ts";

export type BillingInterval = "day" | "week" | "month" | "year";

export type PriceTierTerms = {
  planId: string;
  name: string | null;
  /** In the currency's minor unit. */
  unitAmount: number;
  currency: string;
  /** null for a one-time price. */
  interval: BillingInterval | null;
  intervalCount: number | null;
};
type StripeTierChanges = Partial<Pick<PriceTier, "name" | "unitAmount" | "isActive">>;

export type PriceTier = PriceTierTerms & {
  id: string;
  isActive: boolean;
  stripePriceId: string | null;
  syncStatus: SyncStatus;
  syncError: string | null;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
  lastChangedAt: number;
};
export type PriceTierState = PriceTier | null;

type At = { priceTierId: string; at: string };
type Imported = At & StripeChange & PriceTierTerms & { stripePriceId: string; isActive: boolean };

export type PriceTierCommand =
  | { type: "CreatePriceTier"; data: At & PriceTierTerms }
  | { type: "DeletePriceTier"; data: At }
  | { type: "ImportStripePrice"; data: Imported }
  | { type: "ApplyStripePriceChange"; data: At & StripeChange & StripeTierChanges }
  | { type: "ApplyStripePriceDeletion"; data: At & StripeChange }
  | { type: "LinkStripePrice"; data: At & { stripePriceId: string } }
  | { type: "UnlinkStripePrice"; data: At & { stripePriceId: string } }
  | { type: "MarkPriceTierSyncFailed"; data: At & { error: string } };

export type PriceTierEvent =
  | { type: "PriceTierCreated"; data: At & PriceTierTerms }
  | { type: "PriceTierDeleted"; data: At }
  | { type: "PriceTierImportedFromStripe"; data: Imported }
  | { type: "PriceTierChangedInStripe"; data: At & StripeChange & { changes: StripeTierChanges } }
  | { type: "PriceTierDeletedInStripe"; data: At & StripeChange }
  | { type: "StripePriceLinked"; data: At & { stripePriceId: string } }
  /** Stripe no longer has the price (reconcile found it gone): the tier waits for another. */
  | { type: "StripePriceUnlinked"; data: At & { stripePriceId: string } }
  | { type: "PriceTierSyncFailed"; data: At & { error: string } };

export const MAX_UNIT_AMOUNT = 99_999_999;
/** The longest interval each unit allows, per year of billing period. */
const PER_YEAR: Record<BillingInterval, number> = { day: 365, week: 52, month: 12, year: 1 };
/** Nudges bills at most once a year. */
export const NUDGES_MAX_YEARS = 1;
/** Stripe takes billing periods of up to three years: what it holds is imported as it is. */
export const STRIPE_MAX_YEARS = 3;

const validAmount = (unitAmount: number): number => {
  if (!Number.isInteger(unitAmount) || unitAmount < 0 || unitAmount > MAX_UNIT_AMOUNT) {
    throw invalid(
      "UnitAmountInvalid",
      `unitAmount must be a whole number of minor units from 0 to ${MAX_UNIT_AMOUNT}, got ${unitAmount}`,
    );
  }
  return unitAmount;
};

/** The terms as given, checked against Stripe's rules; a blank name becomes null. */
export const validTerms = (
  terms: PriceTierTerms,
  { maxYears = NUDGES_MAX_YEARS }: { maxYears?: number } = {},
): PriceTierTerms => {
  validAmount(terms.unitAmount);
  if (!/^[a-z]{3}$/.test(terms.currency)) {
    throw invalid(
      "CurrencyInvalid",
      `currency must be three lower-case letters (ISO 4217), got "${terms.currency}"`,
    );
  }
  const { interval, intervalCount } = terms;
  if (interval === null) {
    if (intervalCount !== null) {
      throw invalid("IntervalCountWithoutInterval", "intervalCount needs an interval");
    }
  } else {
    // hasOwn, not `in`: "toString" or "constructor" are in every object.
    if (!Object.hasOwn(PER_YEAR, interval)) {
      throw invalid(
        "IntervalInvalid",
        `interval must be day, week, month or year, got "${interval}"`,
      );
    }
    const max = PER_YEAR[interval] * maxYears;
    if (
      intervalCount !== null &&
      (!Number.isInteger(intervalCount) || intervalCount < 1 || intervalCount > max)
    ) {
      throw invalid(
        "IntervalCountInvalid",
        `intervalCount for a ${interval} interval must be a whole number from 1 to ${max} (at most ${
          maxYears === 1 ? "one year" : `${maxYears} years`
        }), got ${intervalCount}`,
      );
    }
  }
  return {
    ...terms,
    name: terms.name?.trim() || null,
    intervalCount: interval === null ? null : intervalCount ?? 1,
  };
};

const existing = (state: PriceTierState, priceTierId: string): PriceTier => {
  if (state === null) throw notFound("PriceTierNotFound", `no price tier ${priceTierId}`);
  return state;
};

export const decide = (command: PriceTierCommand, state: PriceTierState): PriceTierEvent[] => {
  const { data } = command;
  switch (command.type) {
    case "CreatePriceTier": {
      if (state !== null) {
        throw conflict("PriceTierExists", `price tier ${data.priceTierId} exists already`);
      }
      const { priceTierId, at, ...terms } = command.data;
      return [{ type: "PriceTierCreated", data: { priceTierId, at, ...validTerms(terms) } }];
    }
    case "DeletePriceTier": {
      const tier = existing(state, data.priceTierId);
      return tier.deleted ? [] : [{ type: "PriceTierDeleted", data: command.data }];
    }
    case "ImportStripePrice": {
      if (state !== null) {
        throw conflict("PriceTierExists", `price tier ${data.priceTierId} exists already`);
      }
      const imported = {
        ...command.data,
        ...validTerms(command.data, { maxYears: STRIPE_MAX_YEARS }),
      };
      return [{ type: "PriceTierImportedFromStripe", data: imported }];
    }
    case "ApplyStripePriceChange": {
      const { priceTierId, at, stripeEventId, stripeEventCreated, ...input } = command.data;
      const tier = existing(state, priceTierId);
      if (tier.deleted || isStale(stripeEventCreated, tier.lastChangedAt)) return [];
      if (input.unitAmount !== undefined) validAmount(input.unitAmount);
      if (input.name !== undefined) input.name = input.name?.trim() || null;
      const changes = Object.fromEntries(
        // A field Stripe did not send (undefined) is no change.
        Object.entries(input).filter(([key, value]) =>
          value !== undefined && tier[key as keyof StripeTierChanges] !== value
        ),
      );
      return Object.keys(changes).length === 0 ? [] : [{
        type: "PriceTierChangedInStripe",
        data: { priceTierId, at, stripeEventId, stripeEventCreated, changes },
      }];
    }
    case "ApplyStripePriceDeletion": {
      const tier = existing(state, data.priceTierId);
      if (tier.deleted || isStale(command.data.stripeEventCreated, tier.lastChangedAt)) return [];
      return [{ type: "PriceTierDeletedInStripe", data: command.data }];
    }
    case "LinkStripePrice": {
      const linked = existing(state, command.data.priceTierId).stripePriceId;
      return needsLink(linked, command.data.stripePriceId, "Price tier")
        ? [{ type: "StripePriceLinked", data: command.data }]
        : [];
    }
    case "UnlinkStripePrice":
      return existing(state, command.data.priceTierId).stripePriceId === command.data.stripePriceId
        ? [{ type: "StripePriceUnlinked", data: command.data }]
        : [];
    case "MarkPriceTierSyncFailed":
      return isFailedWith(existing(state, command.data.priceTierId), command.data.error)
        ? []
        : [{ type: "PriceTierSyncFailed", data: command.data }];
    default:
      return unreachable(command);
  }
};

export const evolve = (state: PriceTierState, event: PriceTierEvent): PriceTierState => {
  switch (event.type) {
    case "PriceTierCreated":
    case "PriceTierImportedFromStripe": {
      const { priceTierId, at, ...rest } = event.data;
      const imported = event.type === "PriceTierImportedFromStripe" ? event.data : null;
      return {
        id: priceTierId,
        planId: rest.planId,
        name: rest.name,
        unitAmount: rest.unitAmount,
        currency: rest.currency,
        interval: rest.interval,
        intervalCount: rest.intervalCount,
        isActive: imported?.isActive ?? true,
        stripePriceId: imported?.stripePriceId ?? null,
        syncStatus: imported ? "SYNCED" : "PENDING",
        syncError: null,
        deleted: false,
        createdAt: at,
        updatedAt: at,
        lastChangedAt: imported?.stripeEventCreated ?? epochSecond(at),
      };
    }
  }
  if (state === null) return state;
  switch (event.type) {
    case "PriceTierDeleted":
      return changed(state, event.data.at, { deleted: true, isActive: false });
    case "PriceTierDeletedInStripe":
      return changed(
        state,
        event.data.at,
        { deleted: true, isActive: false },
        event.data.stripeEventCreated,
      );
    case "PriceTierChangedInStripe":
      return changed(state, event.data.at, event.data.changes, event.data.stripeEventCreated);
    case "StripePriceLinked":
      return linked(state, { stripePriceId: event.data.stripePriceId });
    case "StripePriceUnlinked":
      return unlinked(state, { stripePriceId: null });
    case "PriceTierSyncFailed":
      return failed(state, event.data.error);
    default:
      return unreachable(event);
  }
};

export const priceTierDecider: Decider<PriceTierCommand, PriceTierEvent, PriceTierState> = {
  initialState: () => null,
  decide,
  evolve,
};

export const priceTierStream = (priceTierId: string): string => `priceTier-${priceTierId}`;
