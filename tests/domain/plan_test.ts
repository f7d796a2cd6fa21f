import assert from "node:assert/strict";
import { type PlanCommand, planDecider, type PlanEvent, planStream } from "../../domain/plan.ts";
import { spec } from "./decider_spec.ts";

const plan = spec(planDecider);
const planId = "7f1c2a9e-4d0b-4b8e-9a51-2f6d3c8e1a00";
// Values of the Stripe fixtures (product prod_QXg1hqf4jFNsqG, its plan.created event).
const stripeProductId = "prod_QXg1hqf4jFNsqG";
const stripeEventId = "evt_1Pgc76B7WZ01zgkWwyRHS12y";
/** 1721948530 s since the epoch; plus `s` seconds. */
const T = 1721948530;
const at = (s = 0) => new Date((T + s) * 1000).toISOString();
const stripe = (created: number, id = stripeEventId) => ({
  stripeEventId: id,
  stripeEventCreated: created,
});

const created: PlanEvent = {
  type: "PlanCreated",
  data: { planId, at: at(), name: "T-shirt", description: null, iconUrl: null },
};
const linked: PlanEvent = {
  type: "StripeProductLinked",
  data: { planId, at: at(1), stripeProductId },
};
const deleted: PlanEvent = { type: "PlanDeleted", data: { planId, at: at(2) } };
const imported: PlanEvent = {
  type: "PlanImportedFromStripe",
  data: {
    planId,
    at: at(5),
    ...stripe(T),
    stripeProductId,
    name: "T-shirt",
    description: "Comfortable gray cotton t-shirt",
    iconUrl: null,
    isActive: true,
  },
};

const createPlan = (fields: Partial<{ name: string; description: string | null }> = {}) =>
  ({
    type: "CreatePlan",
    data: { planId, at: at(), name: "T-shirt", description: null, iconUrl: null, ...fields },
  }) satisfies PlanCommand;
const update = (
  changes: Omit<Extract<PlanCommand, { type: "UpdatePlan" }>["data"], "planId" | "at">,
  s = 10,
): PlanCommand => ({ type: "UpdatePlan", data: { planId, at: at(s), ...changes } });
const stripeChange = (
  created: number,
  changes: { name?: string; description?: string | null; isActive?: boolean },
  s = 60,
): PlanCommand => ({
  type: "ApplyStripeProductChange",
  data: { planId, at: at(s), ...stripe(created), ...changes },
});
const stripeDeletion = (created: number, s = 60): PlanCommand => ({
  type: "ApplyStripeProductDeletion",
  data: { planId, at: at(s), ...stripe(created) },
});
const changedInStripe = (
  created: number,
  changes: { name?: string; description?: string | null; isActive?: boolean },
  s = 60,
): PlanEvent => ({
  type: "PlanChangedInStripe",
  data: { planId, at: at(s), ...stripe(created), changes },
});

// CreatePlan

Deno.test("decide(CreatePlan) creates a plan with its name trimmed and blank texts as null", () =>
  plan.given([]).when(createPlan({ name: "  T-shirt ", description: "   " })).then([created]));

Deno.test("decide(CreatePlan) refuses a name that is blank after trimming", () =>
  plan.given([]).when(createPlan({ name: " \t\n " })).thenRefused("PlanNameEmpty", "invalid"));

Deno.test("decide(CreatePlan) refuses a name longer than 250 characters", () =>
  plan.given([]).when(createPlan({ name: "x".repeat(251) })).thenRefused(
    "PlanNameTooLong",
    "invalid",
    /250/,
  ));

Deno.test("decide(CreatePlan) accepts a name of exactly 250 characters", () =>
  plan.given([]).when(createPlan({ name: "x".repeat(250) })).then([
    { type: "PlanCreated", data: { ...created.data, name: "x".repeat(250) } },
  ]));

Deno.test("decide(CreatePlan) refuses an iconUrl that is not an http(s) URL", () =>
  plan.given([]).when({
    type: "CreatePlan",
    data: { ...createPlan().data, iconUrl: "javascript:alert(1)" },
  }).thenRefused("PlanIconUrlInvalid", "invalid", /javascript:alert\(1\)/));

Deno.test("decide(CreatePlan) keeps an https iconUrl", () =>
  plan.given([]).when({
    type: "CreatePlan",
    data: { ...createPlan().data, iconUrl: " https://files.stripe.com/links/tshirt.png " },
  }).then([{
    type: "PlanCreated",
    data: { ...created.data, iconUrl: "https://files.stripe.com/links/tshirt.png" },
  }]));

Deno.test("decide(CreatePlan) refuses a plan that exists already", () =>
  plan.given([created]).when(createPlan()).thenRefused("PlanExists", "conflict"));

Deno.test("decide(CreatePlan) refuses to reuse the id of a deleted plan", () =>
  plan.given([created, deleted]).when(createPlan()).thenRefused("PlanExists", "conflict"));

// UpdatePlan

Deno.test("decide(UpdatePlan) records only the fields that change", () =>
  plan.given([created]).when(update({ name: "T-shirt", description: "Gray", isActive: false }))
    .then([{
      type: "PlanUpdated",
      data: { planId, at: at(10), changes: { description: "Gray", isActive: false } },
    }]));

Deno.test("decide(UpdatePlan) changing nothing produces no events", () =>
  plan.given([created]).when(update({ name: " T-shirt ", description: "", iconUrl: null }))
    .thenNothing());

Deno.test("decide(UpdatePlan) with no fields produces no events", () =>
  plan.given([created]).when(update({})).thenNothing());

Deno.test("decide(UpdatePlan) refuses a name that is blank after trimming", () =>
  plan.given([created]).when(update({ name: "   " })).thenRefused("PlanNameEmpty", "invalid"));

Deno.test("decide(UpdatePlan) refuses a bad iconUrl", () =>
  plan.given([created]).when(update({ iconUrl: "not a url" })).thenRefused(
    "PlanIconUrlInvalid",
    "invalid",
  ));

Deno.test("decide(UpdatePlan) refuses a plan that does not exist", () =>
  plan.given([]).when(update({ name: "Hoodie" })).thenRefused("PlanNotFound", "not_found"));

Deno.test("decide(UpdatePlan) refuses any change to a deleted plan", () =>
  plan.given([created, deleted]).when(update({ name: "Hoodie" })).thenRefused(
    "PlanDeleted",
    "conflict",
  ));

Deno.test("decide(UpdatePlan) refuses a change to a plan deleted in Stripe", () =>
  plan.given([created, linked, {
    type: "PlanDeletedInStripe",
    data: { planId, at: at(3), ...stripe(T + 3) },
  }]).when(update({ isActive: true })).thenRefused("PlanDeleted", "conflict"));

// DeletePlan

Deno.test("decide(DeletePlan) deletes a live plan", () =>
  plan.given([created, linked]).when({ type: "DeletePlan", data: { planId, at: at(2) } })
    .then([deleted]));

Deno.test("decide(DeletePlan) on a deleted plan produces no events", () =>
  plan.given([created, deleted]).when({ type: "DeletePlan", data: { planId, at: at(9) } })
    .thenNothing());

Deno.test("decide(DeletePlan) refuses a plan that does not exist", () =>
  plan.given([]).when({ type: "DeletePlan", data: { planId, at: at() } }).thenRefused(
    "PlanNotFound",
    "not_found",
  ));

// ImportStripeProduct

Deno.test("decide(ImportStripeProduct) imports a product made in Stripe", () =>
  plan.given([]).when({ type: "ImportStripeProduct", data: imported.data }).then([imported]));

Deno.test("decide(ImportStripeProduct) trims the name and turns a blank description into null", () =>
  plan.given([]).when({
    type: "ImportStripeProduct",
    data: { ...imported.data, name: " T-shirt ", description: " " },
  }).then([{ ...imported, data: { ...imported.data, description: null } }]));

Deno.test("decide(ImportStripeProduct) refuses a blank name", () =>
  plan.given([]).when({ type: "ImportStripeProduct", data: { ...imported.data, name: "" } })
    .thenRefused("PlanNameEmpty", "invalid"));

Deno.test("decide(ImportStripeProduct) refuses a plan that exists already", () =>
  plan.given([created]).when({ type: "ImportStripeProduct", data: imported.data })
    .thenRefused("PlanExists", "conflict"));

// ApplyStripeProductChange

Deno.test("decide(ApplyStripeProductChange) applies the fields Stripe changed", () =>
  plan.given([created, linked]).when(stripeChange(T + 30, { name: "Tee", isActive: true }))
    .then([changedInStripe(T + 30, { name: "Tee" })]));

Deno.test("decide(ApplyStripeProductChange) changing nothing produces no events", () =>
  plan.given([created, linked]).when(stripeChange(T + 30, { name: "T-shirt", description: "" }))
    .thenNothing());

Deno.test("decide(ApplyStripeProductChange) strictly older than the last Nudges change does nothing", () =>
  plan.given([created, linked, {
    type: "PlanUpdated",
    data: { planId, at: at(10), changes: { name: "Hoodie" } },
  }]).when(stripeChange(T + 9, { name: "T-shirt" })).thenNothing());

Deno.test("decide(ApplyStripeProductChange) in the same second as the last Nudges change applies", () =>
  plan.given([created, linked, {
    type: "PlanUpdated",
    data: { planId, at: "2024-07-25T23:02:20.900Z", changes: { name: "Hoodie" } },
  }]).when(stripeChange(T + 10, { name: "Tee" })).then([changedInStripe(T + 10, { name: "Tee" })]));

Deno.test("decide(ApplyStripeProductChange) strictly older than the last Stripe change does nothing", () =>
  plan.given([created, linked, changedInStripe(T + 30, { name: "Tee" })])
    .when(stripeChange(T + 29, { name: "Old tee" }, 61)).thenNothing());

Deno.test("decide(ApplyStripeProductChange) two changes in the same second both apply", () =>
  plan.given([created, linked, changedInStripe(T + 30, { name: "Tee" })])
    .when(stripeChange(T + 30, { description: "Gray" }, 61))
    .then([changedInStripe(T + 30, { description: "Gray" }, 61)]));

Deno.test("decide(ApplyStripeProductChange) compares with Stripe's time, not when Nudges heard of it", () =>
  // The first change arrived 10 minutes late; a later Stripe change is still newer.
  plan.given([created, linked, changedInStripe(T + 30, { name: "Tee" }, 600)])
    .when(stripeChange(T + 31, { name: "Tee 2" }, 601))
    .then([changedInStripe(T + 31, { name: "Tee 2" }, 601)]));

Deno.test("decide(ApplyStripeProductChange) after the plan was deleted in Nudges does nothing", () =>
  plan.given([created, linked, deleted]).when(stripeChange(T + 100, { name: "Tee" }))
    .thenNothing());

Deno.test("decide(ApplyStripeProductChange) after the product was deleted in Stripe does nothing", () =>
  plan.given([created, linked, {
    type: "PlanDeletedInStripe",
    data: { planId, at: at(40), ...stripe(T + 40) },
  }]).when(stripeChange(T + 41, { name: "Tee", isActive: true })).thenNothing());

Deno.test("decide(ApplyStripeProductChange) refuses a blank name", () =>
  plan.given([created, linked]).when(stripeChange(T + 30, { name: " " })).thenRefused(
    "PlanNameEmpty",
    "invalid",
  ));

Deno.test("decide(ApplyStripeProductChange) refuses a plan that does not exist", () =>
  plan.given([]).when(stripeChange(T, { name: "Tee" })).thenRefused("PlanNotFound", "not_found"));

// ApplyStripeProductDeletion

Deno.test("decide(ApplyStripeProductDeletion) deletes the plan", () =>
  plan.given([created, linked]).when(stripeDeletion(T + 40)).then([{
    type: "PlanDeletedInStripe",
    data: { planId, at: at(60), ...stripe(T + 40) },
  }]));

Deno.test("decide(ApplyStripeProductDeletion) in the same second as the last change applies", () =>
  plan.given([created, linked, changedInStripe(T + 40, { name: "Tee" })])
    .when(stripeDeletion(T + 40)).then([{
      type: "PlanDeletedInStripe",
      data: { planId, at: at(60), ...stripe(T + 40) },
    }]));

Deno.test("decide(ApplyStripeProductDeletion) strictly older than the last change does nothing", () =>
  plan.given([created, linked, changedInStripe(T + 40, { name: "Tee" })])
    .when(stripeDeletion(T + 39)).thenNothing());

Deno.test("decide(ApplyStripeProductDeletion) on a deleted plan produces no events", () =>
  plan.given([created, linked, deleted]).when(stripeDeletion(T + 100)).thenNothing());

Deno.test("decide(ApplyStripeProductDeletion) refuses a plan that does not exist", () =>
  plan.given([]).when(stripeDeletion(T)).thenRefused("PlanNotFound", "not_found"));

// LinkStripeProduct

const link = (id: string): PlanCommand => ({
  type: "LinkStripeProduct",
  data: { planId, at: at(1), stripeProductId: id },
});

Deno.test("decide(LinkStripeProduct) links a plan to its Stripe product", () =>
  plan.given([created]).when(link(stripeProductId)).then([linked]));

Deno.test("decide(LinkStripeProduct) linking the same product again produces no events", () =>
  plan.given([created, linked]).when(link(stripeProductId)).thenNothing());

Deno.test("decide(LinkStripeProduct) refuses a different product than the linked one", () =>
  plan.given([created, linked]).when(link("prod_Other")).thenRefused(
    "StripeLinkMismatch",
    "conflict",
    /prod_QXg1hqf4jFNsqG.*prod_Other/,
  ));

Deno.test("decide(LinkStripeProduct) records the link of a deleted plan, so Stripe can be cleaned up", () =>
  plan.given([created, deleted]).when(link(stripeProductId)).then([linked]));

Deno.test("decide(LinkStripeProduct) refuses a plan that does not exist", () =>
  plan.given([]).when(link(stripeProductId)).thenRefused("PlanNotFound", "not_found"));

// MarkPlanSyncFailed

const failed = (error: string): PlanEvent => ({
  type: "PlanSyncFailed",
  data: { planId, at: at(3), error },
});
const markFailed = (error: string): PlanCommand => ({
  type: "MarkPlanSyncFailed",
  data: { planId, at: at(3), error },
});

Deno.test("decide(MarkPlanSyncFailed) records Stripe's message", () =>
  plan.given([created]).when(markFailed("Invalid URL: icon")).then([failed("Invalid URL: icon")]));

Deno.test("decide(MarkPlanSyncFailed) with the same message again produces no events", () =>
  plan.given([created, failed("Invalid URL: icon")]).when(markFailed("Invalid URL: icon"))
    .thenNothing());

Deno.test("decide(MarkPlanSyncFailed) with a new message records it", () =>
  plan.given([created, failed("Invalid URL: icon")]).when(markFailed("No such product"))
    .then([failed("No such product")]));

Deno.test("decide(MarkPlanSyncFailed) refuses a plan that does not exist", () =>
  plan.given([]).when(markFailed("boom")).thenRefused("PlanNotFound", "not_found"));

// MarkPlanSynced

const markSynced: PlanCommand = { type: "MarkPlanSynced", data: { planId, at: at(4) } };
const restored: PlanEvent = { type: "PlanSyncRestored", data: { planId, at: at(4) } };

Deno.test("decide(MarkPlanSynced) clears a refusal once Stripe took a later change", () =>
  plan.given([created, linked, failed("Invalid URL: icon")]).when(markSynced).then([restored]));

Deno.test("decide(MarkPlanSynced) of a plan that is not FAILED produces no events", () =>
  plan.given([created, linked]).when(markSynced).thenNothing());

Deno.test("decide(MarkPlanSynced) of a plan Stripe never created produces no events", () =>
  plan.given([created, failed("Invalid URL: icon")]).when(markSynced).thenNothing());

Deno.test("evolve() PlanSyncRestored makes the plan SYNCED without its old error", () =>
  plan.given([created, linked, failed("Invalid URL: icon"), restored]).thenState({
    ...createdState,
    stripeProductId,
    syncStatus: "SYNCED",
    syncError: null,
  }));

// evolve

const createdState = {
  id: planId,
  name: "T-shirt",
  description: null,
  iconUrl: null,
  isActive: true,
  stripeProductId: null,
  syncStatus: "PENDING" as const,
  syncError: null,
  deleted: false,
  createdAt: at(),
  updatedAt: at(),
  lastChangedAt: T,
};

Deno.test("evolve() starts with no plan", () => plan.given([]).thenState(null));

Deno.test("evolve() a created plan is active and waits for Stripe", () =>
  plan.given([created]).thenState(createdState));

Deno.test("evolve() syncStatus goes PENDING, SYNCED on the link, FAILED with Stripe's message", () => {
  plan.given([created, linked]).thenState({
    ...createdState,
    stripeProductId,
    syncStatus: "SYNCED",
  });
  plan.given([created, linked, failed("No such product")]).thenState({
    ...createdState,
    stripeProductId,
    syncStatus: "FAILED",
    syncError: "No such product",
  });
});

Deno.test("evolve() a link after a failure clears the error", () =>
  plan.given([created, failed("Rate limited"), linked]).thenState({
    ...createdState,
    stripeProductId,
    syncStatus: "SYNCED",
  }));

Deno.test("evolve() an imported plan is linked and synced from the start", () =>
  plan.given([imported]).thenState({
    ...createdState,
    description: "Comfortable gray cotton t-shirt",
    stripeProductId,
    syncStatus: "SYNCED",
    createdAt: at(5),
    updatedAt: at(5),
    lastChangedAt: T,
  }));

Deno.test("evolve() an update changes the fields and updatedAt", () =>
  plan.given([created, {
    type: "PlanUpdated",
    data: { planId, at: at(10), changes: { name: "Hoodie", isActive: false } },
  }]).thenState({
    ...createdState,
    name: "Hoodie",
    isActive: false,
    updatedAt: at(10),
    lastChangedAt: T + 10,
  }));

Deno.test("evolve() a Stripe change keeps Stripe's time as the last change", () =>
  plan.given([created, linked, changedInStripe(T + 30, { description: "Gray" }, 600)]).thenState({
    ...createdState,
    description: "Gray",
    stripeProductId,
    syncStatus: "SYNCED",
    updatedAt: at(600),
    lastChangedAt: T + 30,
  }));

Deno.test("evolve() a deleted plan is inactive", () =>
  plan.given([created, deleted]).thenState({
    ...createdState,
    isActive: false,
    deleted: true,
    updatedAt: at(2),
    lastChangedAt: T + 2,
  }));

Deno.test("evolve() a plan deleted in Stripe is inactive", () =>
  plan.given([created, linked, {
    type: "PlanDeletedInStripe",
    data: { planId, at: at(90), ...stripe(T + 40) },
  }]).thenState({
    ...createdState,
    stripeProductId,
    syncStatus: "SYNCED",
    isActive: false,
    deleted: true,
    updatedAt: at(90),
    lastChangedAt: T + 40,
  }));

Deno.test("planStream() names the plan's stream", () =>
  assert.equal(planStream(planId), `plan-${planId}`));
