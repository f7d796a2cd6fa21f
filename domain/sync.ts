// How a Nudges object stands with its Stripe twin, and the rule for linking them.
import { conflict } from "./decider.ts";

export type SyncStatus = "PENDING" | "SYNCED" | "FAILED";

/**
 * Linking the id an object already has is a no-op ("same"); linking a first id is "new";
 * linking a different id than the one it has is refused: one Nudges object, one twin.
 */
export const linkOutcome = (
  current: string | null,
  stripeId: string,
  what: string,
): "same" | "new" => {
  if (current === stripeId) return "same";
  if (current !== null) {
    throw conflict(
      "StripeLinkMismatch",
      `${what} is linked to ${current} already, refusing to link it to ${stripeId}`,
    );
  }
  return "new";
};

type Twinned = { syncStatus: SyncStatus; syncError: string | null };

/** The object with its Stripe id known: SYNCED, any earlier failure cleared. */
export const linked = <T extends Twinned>(object: T, link: NoInfer<Partial<T>>): T => ({
  ...object,
  ...link,
  syncStatus: "SYNCED",
  syncError: null,
});

/** The object Stripe refused for good, with Stripe's message. */
export const failed = <T extends Twinned>(object: T, error: string): T => ({
  ...object,
  syncStatus: "FAILED",
  syncError: error,
});
