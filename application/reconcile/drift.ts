/**
 * The kinds of drift between Nudges and Stripe, and what each one's repair is.
 * @module
 */
import type { StripeRecord } from "../ports/stripe_gateway.ts";

export type DriftKind = "product" | "price" | "customer" | "subscription";

export type DriftType =
  /** Stripe has an object Nudges lacks: imported, as its webhook would have done. */
  | "missingInNudges"
  /** Nudges' own twin (found by metadata.nudges_*) was never linked: a lost create. Linked. */
  | "unlinkedTwin"
  /** Values differ and Stripe changed last: Stripe's values are applied. */
  | "stripeNewer"
  /** Values differ and Nudges changed last: Nudges' changes are sent again. */
  | "nudgesNewer"
  /** The Nudges object never reached Stripe (PENDING, or FAILED): pushed. */
  | "missingInStripe"
  /** The linked Stripe object is gone: unlinked, then pushed again. */
  | "twinGone"
  /** A second Stripe object names a Nudges object linked to another: archived. */
  | "duplicate"
  /** A Stripe object names a Nudges object that does not exist: reported only. */
  | "orphan";

export type Drift = {
  kind: DriftKind;
  type: DriftType;
  /** The Nudges object's id, when there is one. */
  nudgesId: string | null;
  stripeId: string | null;
  /** The fields that differ, for stripeNewer and nudgesNewer. */
  fields?: string[];
  /** The Stripe object as listed, for repairs that apply it. */
  object?: StripeRecord;
  /** When Stripe's values date from (whole seconds), for the domain's stale guard. */
  stripeTime?: number;
};

export type RepairOutcome =
  | { status: "repaired" }
  /** --dry-run: found, not repaired. */
  | { status: "found" }
  | { status: "failed"; error: string }
  /** No repair exists (yet): an operator looks at it. */
  | { status: "unrepairable"; reason: string };

export type Found = Drift & { outcome: RepairOutcome };
