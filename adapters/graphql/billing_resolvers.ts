/**
 * The billing fields of the schema (billing_schema.ts): client changes, checkouts and
 * cancellations, each behind the token; Client.activePlans from the read model and the
 * request's clock; onPlanSubscriptionUpdated from the projector. A Stripe refusal of a
 * checkout reads as bad input with Stripe's message; Stripe out of reach, as unavailable.
 * @module
 */
import { GraphQLError } from "graphql";
import { z } from "zod";
import { plansInUse } from "../../domain/plan_access.ts";
import * as billing from "../../application/commands/billing_commands.ts";
import type { CommandContext, Written } from "../../application/commands/product_commands.ts";
import type {
  ClientView,
  PaymentConfirmationView,
  PlanSubscriptionView,
} from "../../application/ports/read_model.ts";
import {
  PermanentStripeError,
  type StripeGateway,
  TransientStripeError,
} from "../../application/ports/stripe_gateway.ts";
import type { Projector } from "../../application/projections/projector.ts";
import type { Clock } from "../../application/ports/clock.ts";
import { apiError, badInput } from "./errors.ts";
import { Id } from "./inputs.ts";
import { planSubscriptionUpdates } from "./plan_updates.ts";
import type { Resolvers } from "./schema.ts";

type Context = { requestId: string; authentication: unknown };

/** What the general resolvers lend: the token check, a command context, read-your-writes. */
export type ResolverHelpers<Ctx extends Context> = {
  authorize(ctx: Ctx, what: string): void;
  writer(ctx: Ctx, operation: string): CommandContext;
  afterWrite<S>(
    written: Written<S>,
    read: () => (S & { version: number }) | null,
    ctx: Ctx,
  ): Promise<S & { version: number }>;
};

export type BillingDeps = {
  projector: Projector;
  clock: Clock;
  /** For createCheckoutSession; without it the mutation says Stripe is not configured. */
  gateway?: StripeGateway;
};

const text = (max: number) => z.string().max(max, `at most ${max} characters`);
const unlessNull = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);
const url = z.url({ protocol: /^https?$/, error: "must be an http or https URL" }).max(2048);

export const UpdateClientInput = z.object({
  id: Id,
  name: unlessNull(text(250)),
  email: unlessNull(text(512)),
  expectedVersion: unlessNull(z.number().int().min(0, "must be 0 or more")),
});
export const CreateCheckoutSessionInput = z.object({
  clientId: Id,
  priceTierId: Id,
  successUrl: url,
  cancelUrl: url,
});
export const CancelPlanSubscriptionInput = z.object({
  id: Id,
  immediately: unlessNull(z.boolean()).transform((value) => value ?? false),
});

const parse = <T extends z.ZodType>(schema: T, value: unknown): z.output<T> => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badInput(parsed.error, "input");
  return parsed.data;
};

const stripeFailure = (error: unknown): unknown => {
  if (error instanceof PermanentStripeError) {
    return apiError("BAD_USER_INPUT", `Stripe refused: ${error.message}`, "StripeRefused");
  }
  if (error instanceof TransientStripeError) {
    return new GraphQLError(`Stripe cannot be reached now (${error.reason}); try again later`, {
      extensions: { code: "SERVICE_UNAVAILABLE", reason: "StripeUnavailable" },
    });
  }
  return error;
};

export const billingResolvers = <Ctx extends Context>(
  deps: BillingDeps,
  { authorize, writer, afterWrite }: ResolverHelpers<Ctx>,
): Resolvers => {
  const view = deps.projector.view;
  return {
    Mutation: {
      updateClient: async (_, { input }, ctx: Ctx) => {
        const ok = writer(ctx, "updateClient");
        const { id, ...changes } = parse(UpdateClientInput, input);
        const written = await billing.updateClient(ok, { clientId: id, ...changes });
        return afterWrite(written, () => view.get("clients", id), ctx);
      },
      createCheckoutSession: async (_, { input }, ctx: Ctx) => {
        const ok = writer(ctx, "createCheckoutSession");
        const request = parse(CreateCheckoutSessionInput, input);
        if (deps.gateway === undefined) {
          throw new GraphQLError("this product API has no Stripe configured (STRIPE_API_KEY)", {
            extensions: { code: "SERVICE_UNAVAILABLE", reason: "StripeNotConfigured" },
          });
        }
        try {
          return await billing.createCheckoutSession({ ...ok, gateway: deps.gateway }, request);
        } catch (error) {
          throw stripeFailure(error);
        }
      },
      cancelPlanSubscription: async (_, { input }, ctx: Ctx) => {
        const ok = writer(ctx, "cancelPlanSubscription");
        const { id, immediately } = parse(CancelPlanSubscriptionInput, input);
        const written = await billing.cancelPlanSubscription(ok, {
          planSubscriptionId: id,
          immediately,
        });
        return afterWrite(written, () => view.get("planSubscriptions", id), ctx);
      },
    },
    Subscription: {
      onPlanSubscriptionUpdated: {
        subscribe: (_, { clientId }: { clientId?: string | null }, ctx: Ctx) => {
          authorize(ctx, "the subscription onPlanSubscriptionUpdated (client data)");
          return planSubscriptionUpdates(deps.projector, clientId ?? null);
        },
        resolve: (subscription: PlanSubscriptionView) => subscription,
      },
    },
    Client: {
      activePlans: (client: ClientView) => {
        const subscriptions = view.list("planSubscriptions", client.id);
        return plansInUse(subscriptions, deps.clock())
          .flatMap((planId) => view.get("plans", planId) ?? []);
      },
    },
    PlanSubscription: {
      cancelRequested: (subscription: PlanSubscriptionView) =>
        subscription.cancelRequested !== null,
    },
    PaymentConfirmation: {
      problem: (payment: PaymentConfirmationView) => payment.problem?.code ?? null,
      problemMessage: (payment: PaymentConfirmationView) => payment.problem?.message ?? null,
    },
  };
};

/** Both resolver maps in one, type by type. */
export const mergeResolvers = (...maps: Resolvers[]): Resolvers => {
  const merged: Resolvers = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) merged[type] = { ...merged[type], ...fields };
  }
  return merged;
};
