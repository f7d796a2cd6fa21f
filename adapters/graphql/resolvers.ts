/**
 * What each field of the schema does. Queries read the projector's read model (and the
 * event store for streamEvents); mutations check the token and their input, run the
 * command, wait for the read model to include what they wrote, and return it from there.
 * The catalog (plans, tiers, onPlanUpdated) is public; clients, their subscriptions and
 * payments, and the raw event history (Stripe payloads, emails) need the token.
 * @module
 */
import type { z } from "zod";
import type { Clock, NewId } from "../../application/ports/clock.ts";
import type { EventStore, RecordedEvent } from "../../application/ports/event_store.ts";
import type { Logger } from "../../application/ports/logger.ts";
import type { StripeGateway } from "../../application/ports/stripe_gateway.ts";
import * as commands from "../../application/commands/product_commands.ts";
import type { PlanWithTiers } from "../../application/projections/fold.ts";
import type { Projector } from "../../application/projections/projector.ts";
import type {
  ClientView,
  PlanSubscriptionView,
  PlanView,
  PriceTierView,
} from "../../application/ports/read_model.ts";
import { type Authentication, unauthenticatedMessage } from "./auth.ts";
import { children, referenced, together } from "./batches.ts";
import { apiError, badInput } from "./errors.ts";
import * as inputs from "./inputs.ts";
import { planUpdates } from "./plan_updates.ts";
import { billingResolvers, mergeResolvers } from "./billing_resolvers.ts";
import type { Resolvers } from "./schema.ts";

export type ResolverDeps = {
  store: EventStore;
  projector: Projector;
  clock: Clock;
  newId: NewId;
  logger: Logger;
  /** How long a mutation waits for the read model to include its write (default 5 s). */
  readYourWritesTimeoutMs?: number;
  /** Stripe, for createCheckoutSession. */
  gateway?: StripeGateway;
};

/** Per operation: who asks, and the id its events and logs carry. */
export type OperationContext = { requestId: string; authentication: Authentication };

type Plan = PlanView & { priceTiers?: PriceTierView[] };

const parse = <T extends z.ZodType>(schema: T, value: unknown, name: string): z.output<T> => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badInput(parsed.error, name);
  return parsed.data;
};

const recorded = ({ streamId, revision, type, data, recordedAt }: RecordedEvent) => ({
  streamId,
  revision,
  type,
  data: JSON.stringify(data),
  recordedAt,
});

export const resolvers = (deps: ResolverDeps): Resolvers => {
  const { projector, store, logger } = deps;
  const view = projector.view;
  const timeoutMs = deps.readYourWritesTimeoutMs ?? 5000;
  /**
   * The children of a group of documents in one read: by index for a page, and for a whole
   * list (more than 500) by reading the collection, which is cheaper than as many lookups.
   */
  const childrenOf =
    <C extends "priceTiers" | "planSubscriptions">(collection: C) => (parentIds: string[]) =>
      parentIds.length > 500 ? view.list(collection) : view.childrenOf(collection, parentIds);

  /** Refuses `what` unless the caller holds the token. */
  const authorize = (ctx: OperationContext, what: string) => {
    if (ctx.authentication !== "ok") {
      throw apiError("UNAUTHENTICATED", unauthenticatedMessage(what, ctx.authentication));
    }
  };

  /** The mutation's command context, once the caller is known to hold the token. */
  const writer = (ctx: OperationContext, operation: string): commands.CommandContext => {
    authorize(ctx, `the mutation ${operation}`);
    return {
      store,
      clock: deps.clock,
      newId: deps.newId,
      requestId: ctx.requestId,
      cause: { kind: "graphql", requestId: ctx.requestId, operation },
    };
  };

  /** Read-your-writes: the document once the read model holds the write. */
  const afterWrite = async <S>(
    written: commands.Written<S>,
    read: () => (S & { version: number }) | null,
    ctx: OperationContext,
  ): Promise<S & { version: number }> => {
    if (written.position !== undefined) {
      const reached = await projector.waitFor(written.position, timeoutMs);
      if (!reached) {
        logger.warn("the read model did not catch up in time; answering from the command", {
          requestId: ctx.requestId,
          position: written.position,
          projection: projector.status(),
        });
      }
    }
    const doc = read();
    // The write's own state is as fresh as the read model could be, just without joins.
    if (doc && doc.version >= written.revision) return doc;
    return { ...written.state, version: written.revision } as S & { version: number };
  };

  const general: Resolvers = {
    Query: {
      plans: (_, args: { includeInactive?: boolean | null }, ctx: OperationContext) =>
        together(ctx, view.list("plans").filter((plan) => args.includeInactive || plan.isActive)),
      plan: (_, { id }: { id: string }) => view.get("plans", id),
      priceTier: (_, { id }: { id: string }) => view.get("priceTiers", id),
      clients: (_, _args, ctx: OperationContext) => {
        authorize(ctx, "the query clients (client data)");
        return together(ctx, view.list("clients"));
      },
      client: (_, { id }: { id: string }, ctx: OperationContext) => {
        authorize(ctx, "the query client (client data)");
        return view.get("clients", id);
      },
      planSubscriptions: (_, { clientId }: { clientId?: string | null }, ctx: OperationContext) => {
        authorize(ctx, "the query planSubscriptions (client data)");
        return together(ctx, view.list("planSubscriptions", clientId ?? undefined));
      },
      paymentConfirmations: (_, _args, ctx: OperationContext) => {
        authorize(ctx, "the query paymentConfirmations (client data)");
        return view.list("paymentConfirmations");
      },
      streamEvents: async (_, { streamId }: { streamId: string }, ctx: OperationContext) => {
        authorize(ctx, "the query streamEvents (stored events, Stripe payloads included)");
        return (await store.readStream(parse(inputs.StreamId, streamId, "streamId"))).map(
          recorded,
        );
      },
    },
    Mutation: {
      createPlan: async (_, { input }, ctx: OperationContext) => {
        const ok = writer(ctx, "createPlan");
        const written = await commands.createPlan(
          ok,
          parse(inputs.CreatePlanInput, input, "input"),
        );
        return afterWrite(written, () => view.get("plans", written.id), ctx);
      },
      updatePlan: async (_, { input }, ctx: OperationContext) => {
        const ok = writer(ctx, "updatePlan");
        const written = await commands.updatePlan(
          ok,
          parse(inputs.UpdatePlanInput, input, "input"),
        );
        return afterWrite(written, () => view.get("plans", written.id), ctx);
      },
      deletePlan: async (_, { id }, ctx: OperationContext) => {
        const ok = writer(ctx, "deletePlan");
        const written = await commands.deletePlan(ok, parse(inputs.Id, id, "id"));
        return (await afterWrite(written, () => view.get("plans", written.id), ctx)).id;
      },
      createPriceTier: async (_, { input }, ctx: OperationContext) => {
        const ok = writer(ctx, "createPriceTier");
        const written = await commands.createPriceTier(
          ok,
          parse(inputs.CreatePriceTierInput, input, "input"),
        );
        return afterWrite(written, () => view.get("priceTiers", written.id), ctx);
      },
      deletePriceTier: async (_, { id }, ctx: OperationContext) => {
        const ok = writer(ctx, "deletePriceTier");
        const written = await commands.deletePriceTier(ok, parse(inputs.Id, id, "id"));
        return (await afterWrite(written, () => view.get("priceTiers", written.id), ctx)).id;
      },
      createClient: async (_, { input }, ctx: OperationContext) => {
        const ok = writer(ctx, "createClient");
        const written = await commands.createClient(
          ok,
          parse(inputs.CreateClientInput, input, "input"),
        );
        return afterWrite(written, () => view.get("clients", written.id), ctx);
      },
    },
    Subscription: {
      onPlanUpdated: {
        subscribe: (_, { id }: { id?: string | null }) => planUpdates(projector, id ?? null),
        resolve: (plan: PlanWithTiers) => plan,
      },
    },
    Plan: {
      isDeleted: (plan: Plan) => plan.deleted,
      // Loaded for every plan of the page or list at once (batches.ts).
      priceTiers: (plan: Plan, _args, ctx: OperationContext) =>
        plan.priceTiers ??
          children(ctx, plan, "priceTiers", childrenOf("priceTiers"), (tier) => tier.planId),
    },
    PriceTier: {
      interval: (tier: PriceTierView) => tier.interval?.toUpperCase() ?? null,
    },
    Client: {
      subscriptions: (client: ClientView, _args, ctx: OperationContext) =>
        children(
          ctx,
          client,
          "subscriptions",
          childrenOf("planSubscriptions"),
          (subscription) => subscription.clientId,
        ),
    },
    PlanSubscription: {
      paymentConfirmation: (subscription: PlanSubscriptionView, _args, ctx: OperationContext) =>
        referenced(
          ctx,
          subscription,
          "paymentConfirmation",
          (doc) => doc.paymentConfirmationId,
          (ids) => view.getMany("paymentConfirmations", ids),
        ),
    },
  };
  return mergeResolvers(general, billingResolvers(deps, { authorize, writer, afterWrite }));
};
