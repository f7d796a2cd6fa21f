/**
 * Pushing what never reached Stripe, through outbound sync's own use case: the call it
 * makes for the event that asked for the Stripe object (the creation, or the unlink of a
 * twin Stripe lost), with that event's idempotency key, so that reconcile and a
 * concurrent outbound call make one object between them; then the later changes again.
 * @module
 */
import type { DomainEvent } from "../../domain/decider.ts";
import { applyOutbound } from "../outbound/mod.ts";
import { outboxMessage } from "../outbox/mod.ts";
import type { RecordedEvent } from "../ports/event_store.ts";
import { clients, plans, priceTiers } from "../shared/aggregates.ts";
import type { Aggregate } from "../shared/command_handler.ts";
import { IntegrationEvent } from "../shared/integration_events.ts";
import type { RunContext } from "./run_context.ts";

export type Pushed = "plan" | "priceTier" | "client";

type Twin = { stripeId: string | null; syncStatus: string; syncError: string | null };

type PushSpec = {
  target: Aggregate<never, DomainEvent, unknown>;
  created: string;
  unlinked: string;
  /** Sent again after a creation: what Nudges changed since. */
  changes: readonly string[];
  /** The state's field that holds the Stripe id. */
  twinField: string;
  /** The creation's integration event, for an object whose twin Stripe lost. */
  recreate(state: unknown, unlinked: RecordedEvent): unknown;
};

const SPECS: Record<Pushed, PushSpec> = {
  plan: {
    target: plans as unknown as PushSpec["target"],
    created: "PlanCreated",
    unlinked: "StripeProductUnlinked",
    changes: ["PlanUpdated", "PlanDeleted"],
    twinField: "stripeProductId",
    recreate: (s, unlinked) => {
      const { id, name, description, iconUrl, isActive } = s as Record<string, unknown>;
      return event("PlanCreatedEvent", unlinked, {
        planId: id,
        name,
        description,
        iconUrl,
        isActive,
      });
    },
  },
  priceTier: {
    target: priceTiers as unknown as PushSpec["target"],
    created: "PriceTierCreated",
    unlinked: "StripePriceUnlinked",
    changes: ["PriceTierDeleted"],
    twinField: "stripePriceId",
    recreate: (s, unlinked) => {
      const { id, planId, name, unitAmount, currency, interval, intervalCount } = s as Record<
        string,
        unknown
      >;
      return event("PriceTierCreatedEvent", unlinked, {
        priceTierId: id,
        planId,
        name,
        unitAmount,
        currency,
        interval,
        intervalCount,
      });
    },
  },
  client: {
    target: clients as unknown as PushSpec["target"],
    created: "ClientCreated",
    unlinked: "StripeCustomerUnlinked",
    changes: [],
    twinField: "stripeCustomerId",
    recreate: (s, unlinked) => {
      const { id, name, email } = s as Record<string, unknown>;
      return event("ClientCreatedEvent", unlinked, { clientId: id, name, email });
    },
  },
};

const twinOf = (state: unknown, field: string): Twin | null => {
  if (state === null || typeof state !== "object") return null;
  const fields = state as Record<string, unknown>;
  return {
    stripeId: (fields[field] as string | null) ?? null,
    syncStatus: String(fields.syncStatus),
    syncError: (fields.syncError as string | null) ?? null,
  };
};

const event = (type: string, cause: RecordedEvent, data: unknown) => ({
  type,
  version: 1,
  eventId: cause.metadata.eventId,
  occurredAt: cause.recordedAt,
  data,
});

/** The integration event the outbox made, or would make, of a recorded event. */
const published = async (run: RunContext, recorded: RecordedEvent): Promise<IntegrationEvent> => {
  const message = await outboxMessage(run.store, recorded);
  if (message === null) throw new Error(`${recorded.type} is never published`);
  return IntegrationEvent.parse(JSON.parse(message.value));
};

/**
 * Makes the object's Stripe twin and links it; then sends its later changes. Resolves to
 * null when it is linked, else to why not (Stripe refused it, say).
 */
export const pushCreation = async (
  run: RunContext,
  kind: Pushed,
  id: string,
): Promise<string | null> => {
  const spec = SPECS[kind];
  const { recorded, state } = await spec.target.read(run.store, id);
  const cause = recorded.findLast((e) => e.type === spec.created || e.type === spec.unlinked);
  if (cause === undefined) return `${kind} ${id} has no event that asks for a Stripe twin`;
  const integration = cause.type === spec.created
    ? await published(run, cause)
    : IntegrationEvent.parse(spec.recreate(state, cause));
  await applyOutbound(run, integration, run.metadata);
  const after = twinOf((await spec.target.read(run.store, id)).state, spec.twinField);
  if (after?.stripeId == null) {
    return after?.syncStatus === "FAILED"
      ? `Stripe refused it: ${after.syncError}`
      : `${kind} ${id} is still not linked`;
  }
  await pushChanges(run, kind, id);
  return null;
};

/** Sends Nudges' changes of the object again; outbound sends only what no later change set. */
export const pushChanges = async (run: RunContext, kind: Pushed, id: string): Promise<void> => {
  const spec = SPECS[kind];
  const { recorded } = await spec.target.read(run.store, id);
  for (const change of recorded.filter((e) => spec.changes.includes(e.type))) {
    await applyOutbound(run, await published(run, change), run.metadata);
  }
};

/** Forgets a twin Stripe no longer has, once per run; the object is PENDING again. */
export const unlink = async (run: RunContext, kind: Pushed, id: string, stripeId: string) => {
  const at = run.clock();
  const options = {
    metadata: run.metadata,
    once: { scope: "reconcile", cause: run.runId, step: "unlink" },
  };
  switch (kind) {
    case "plan":
      return await plans.handle(run.store, {
        type: "UnlinkStripeProduct",
        data: { planId: id, at, stripeProductId: stripeId },
      }, options);
    case "priceTier":
      return await priceTiers.handle(run.store, {
        type: "UnlinkStripePrice",
        data: { priceTierId: id, at, stripePriceId: stripeId },
      }, options);
    case "client":
      return await clients.handle(run.store, {
        type: "UnlinkStripeCustomer",
        data: { clientId: id, at, stripeCustomerId: stripeId },
      }, options);
  }
};
