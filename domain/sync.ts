/**
 * How a Nudges object stands with its Stripe twin, and the rule for linking them.
 * @module
 */
import { conflict } from "./decider.ts";

export type SyncStatus = "PENDING" | "SYNCED" | "FAILED";

/**
 * Whether linking `stripeId` records anything: linking the id an object has is a no-op,
 * linking a first id is new, linking another id is refused: one Nudges object, one twin.
 */
export const needsLink = (current: string | null, stripeId: string, what: string): boolean => {
  if (current === stripeId) return false;
  if (current !== null) {
    throw conflict(
      "StripeLinkMismatch",
      `${what} is linked to ${current} already, refusing to link it to ${stripeId}`,
    );
  }
  return true;
};

type Twinned = { syncStatus: SyncStatus; syncError: string | null };

/** The object with its Stripe id known: SYNCED, any earlier failure cleared. */
export const linked = <T extends Twinned>(object: T, link: NoInfer<Partial<T>>): T => ({
  ...object,
  ...link,
  syncStatus: "SYNCED",
  syncError: null,
});

/** True when Stripe's refusal is recorded already: marking it again changes nothing. */
export const isFailedWith = (object: Twinned, error: string): boolean =>
  object.syncStatus === "FAILED" && object.syncError === error;

/** The object Stripe refused for good, with Stripe's message. */
export const failed = <T extends Twinned>(object: T, error: string): T => ({
  ...object,
  syncStatus: "FAILED",
  syncError: error,
});

/** The object without its Stripe twin (Stripe lost it): PENDING until it gets another. */
export const unlinked = <T extends Twinned>(object: T, link: NoInfer<Partial<T>>): T => ({
  ...object,
  ...link,
  syncStatus: "PENDING",
  syncError: null,
});
