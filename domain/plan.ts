/**
 * Plan: a product of the Nudges catalog, twinned with a Stripe Product.
 * @module
 */
import { conflict, type Decider, invalid, notFound, unreachable } from "./decider.ts";
import { changed, epochSecond, isStale, type StripeChange } from "./stripe_time.ts";
import { failed, isFailedWith, linked, needsLink, type SyncStatus, unlinked } from "./sync.ts";

export type PlanFields = {
  name: string;
  description: string | null;
  iconUrl: string | null;
  isActive: boolean;
};
export type PlanChanges = Partial<PlanFields>;

export type Plan = PlanFields & {
  id: string;
  stripeProductId: string | null;
  syncStatus: SyncStatus;
  syncError: string | null;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
  /** Whole seconds: the last change from Nudges or Stripe, for the stale guard. */
  lastChangedAt: number;
};
export type PlanState = Plan | null;

type At = { planId: string; at: string };

export type PlanCommand =
  | { type: "CreatePlan"; data: At & Omit<PlanFields, "isActive"> }
  | { type: "UpdatePlan"; data: At & PlanChanges }
  | { type: "DeletePlan"; data: At }
  | {
    type: "ImportStripeProduct";
    data: At & StripeChange & PlanFields & { stripeProductId: string };
  }
  | { type: "ApplyStripeProductChange"; data: At & StripeChange & PlanChanges }
  | { type: "ApplyStripeProductDeletion"; data: At & StripeChange }
  | { type: "LinkStripeProduct"; data: At & { stripeProductId: string } }
  | { type: "UnlinkStripeProduct"; data: At & { stripeProductId: string } }
  | { type: "MarkPlanSyncFailed"; data: At & { error: string } }
  | { type: "MarkPlanSynced"; data: At };

export type PlanEvent =
  | { type: "PlanCreated"; data: At & Omit<PlanFields, "isActive"> }
  | { type: "PlanUpdated"; data: At & { changes: PlanChanges } }
  | { type: "PlanDeleted"; data: At }
  | {
    type: "PlanImportedFromStripe";
    data: At & StripeChange & PlanFields & { stripeProductId: string };
  }
  | { type: "PlanChangedInStripe"; data: At & StripeChange & { changes: PlanChanges } }
  | { type: "PlanDeletedInStripe"; data: At & StripeChange }
  | { type: "StripeProductLinked"; data: At & { stripeProductId: string } }
  /** Stripe no longer has the product (reconcile found it gone): the plan waits for another. */
  | { type: "StripeProductUnlinked"; data: At & { stripeProductId: string } }
  | { type: "PlanSyncFailed"; data: At & { error: string } }
  | { type: "PlanSyncRestored"; data: At };

const MAX_NAME = 250;

/** The plan's fields as given, trimmed and checked; empty texts become null. */
export const validPlanChanges = (input: PlanChanges): PlanChanges => {
  const out: PlanChanges = {};
  if (input.name !== undefined) {
    const name = input.name.trim();
    if (name === "") throw invalid("PlanNameEmpty", "a plan needs a name that is not blank");
    if (name.length > MAX_NAME) {
      throw invalid("PlanNameTooLong", `a plan name has at most ${MAX_NAME} characters`);
    }
    out.name = name;
  }
  if (input.description !== undefined) out.description = input.description?.trim() || null;
  if (input.iconUrl !== undefined) {
    const iconUrl = input.iconUrl?.trim() || null;
    if (iconUrl !== null && !/^https?:\/\/[^\s/]+\.[^\s]*$/i.test(iconUrl)) {
      throw invalid("PlanIconUrlInvalid", `iconUrl must be an http(s) URL, got "${iconUrl}"`);
    }
    out.iconUrl = iconUrl;
  }
  if (input.isActive !== undefined) out.isActive = input.isActive;
  return out;
};

/** Only the fields that differ from the plan. */
const changesTo = (plan: Plan, changes: PlanChanges): PlanChanges =>
  Object.fromEntries(
    Object.entries(changes).filter(([key, value]) => plan[key as keyof PlanFields] !== value),
  );

const isEmpty = (changes: PlanChanges) => Object.keys(changes).length === 0;

const existing = (state: PlanState, planId: string): Plan => {
  if (state === null) throw notFound("PlanNotFound", `no plan ${planId}`);
  return state;
};

const live = (state: PlanState, planId: string): Plan => {
  const plan = existing(state, planId);
  if (plan.deleted) throw conflict("PlanDeleted", `plan ${planId} is deleted`);
  return plan;
};

/** Stripe changes to a deleted plan, or older than its last change, change nothing. */
const acceptsStripeChange = (plan: Plan, change: StripeChange): boolean =>
  !plan.deleted && !isStale(change.stripeEventCreated, plan.lastChangedAt);

export const decide = (command: PlanCommand, state: PlanState): PlanEvent[] => {
  const { data } = command;
  switch (command.type) {
    case "CreatePlan": {
      if (state !== null) throw conflict("PlanExists", `plan ${data.planId} exists already`);
      const { planId, at, name, description, iconUrl } = command.data;
      const fields = validPlanChanges({ name, description, iconUrl });
      return [{
        type: "PlanCreated",
        data: { planId, at, name: fields.name!, description: null, iconUrl: null, ...fields },
      }];
    }
    case "UpdatePlan": {
      const { planId, at, ...input } = command.data;
      const changes = changesTo(live(state, planId), validPlanChanges(input));
      return isEmpty(changes) ? [] : [{ type: "PlanUpdated", data: { planId, at, changes } }];
    }
    case "DeletePlan": {
      const plan = existing(state, data.planId);
      return plan.deleted
        ? []
        : [{ type: "PlanDeleted", data: { planId: data.planId, at: data.at } }];
    }
    case "ImportStripeProduct": {
      if (state !== null) throw conflict("PlanExists", `plan ${data.planId} exists already`);
      const d = command.data;
      const fields = validPlanChanges(d);
      return [{ type: "PlanImportedFromStripe", data: { ...d, ...fields } as typeof d }];
    }
    case "ApplyStripeProductChange": {
      const { planId, at, stripeEventId, stripeEventCreated, ...input } = command.data;
      const plan = existing(state, planId);
      if (!acceptsStripeChange(plan, command.data)) return [];
      const changes = changesTo(plan, validPlanChanges(input));
      return isEmpty(changes) ? [] : [{
        type: "PlanChangedInStripe",
        data: { planId, at, stripeEventId, stripeEventCreated, changes },
      }];
    }
    case "ApplyStripeProductDeletion": {
      const plan = existing(state, data.planId);
      if (!acceptsStripeChange(plan, command.data)) return [];
      return [{ type: "PlanDeletedInStripe", data: command.data }];
    }
    case "LinkStripeProduct": {
      const linked = existing(state, command.data.planId).stripeProductId;
      return needsLink(linked, command.data.stripeProductId, "Plan")
        ? [{ type: "StripeProductLinked", data: command.data }]
        : [];
    }
    case "UnlinkStripeProduct":
      return existing(state, command.data.planId).stripeProductId === command.data.stripeProductId
        ? [{ type: "StripeProductUnlinked", data: command.data }]
        : [];
    case "MarkPlanSyncFailed":
      return isFailedWith(existing(state, command.data.planId), command.data.error)
        ? []
        : [{ type: "PlanSyncFailed", data: command.data }];
    case "MarkPlanSynced": {
      // Stripe took a later change: a refusal recorded earlier no longer describes the plan.
      const plan = existing(state, command.data.planId);
      return plan.syncStatus === "FAILED" && plan.stripeProductId !== null
        ? [{ type: "PlanSyncRestored", data: command.data }]
        : [];
    }
    default:
      return unreachable(command);
  }
};

export const evolve = (state: PlanState, event: PlanEvent): PlanState => {
  switch (event.type) {
    case "PlanCreated":
    case "PlanImportedFromStripe": {
      const d = event.data;
      const imported = event.type === "PlanImportedFromStripe" ? event.data : null;
      return {
        id: d.planId,
        name: d.name,
        description: d.description,
        iconUrl: d.iconUrl,
        isActive: imported?.isActive ?? true,
        stripeProductId: imported?.stripeProductId ?? null,
        syncStatus: imported ? "SYNCED" : "PENDING",
        syncError: null,
        deleted: false,
        createdAt: d.at,
        updatedAt: d.at,
        lastChangedAt: imported?.stripeEventCreated ?? epochSecond(d.at),
      };
    }
  }
  if (state === null) return state;
  switch (event.type) {
    case "PlanUpdated":
      return changed(state, event.data.at, event.data.changes);
    case "PlanChangedInStripe":
      return changed(state, event.data.at, event.data.changes, event.data.stripeEventCreated);
    case "PlanDeleted":
      return changed(state, event.data.at, { deleted: true, isActive: false });
    case "PlanDeletedInStripe":
      return changed(
        state,
        event.data.at,
        { deleted: true, isActive: false },
        event.data.stripeEventCreated,
      );
    case "StripeProductLinked":
      return linked(state, { stripeProductId: event.data.stripeProductId });
    case "StripeProductUnlinked":
      return unlinked(state, { stripeProductId: null });
    case "PlanSyncRestored":
      return linked(state, {});
    case "PlanSyncFailed":
      return failed(state, event.data.error);
    default:
      return unreachable(event);
  }
};

export const planDecider: Decider<PlanCommand, PlanEvent, PlanState> = {
  initialState: () => null,
  decide,
  evolve,
};

export const planStream = (planId: string): string => `plan-${planId}`;
