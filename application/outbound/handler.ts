// Outbound sync (the seed's StripeService): integration events from the bus become Stripe
// calls, and what Stripe answers is recorded on the Nudges object: the link to its
// Stripe twin, or FAILED with Stripe's message when Stripe refuses for good.
//
// Exactly once, though the bus delivers at least once: each call's idempotency key and
// each recorded event's id derive from the causing event's id, and an object that is
// linked already (or whose outcome for this event is recorded) is not sent again.
import { clientDecider, clientStream } from "../../domain/client.ts";
import { type Decider, DomainError } from "../../domain/decider.ts";
import {
  type Plan,
  type PlanChanges,
  planDecider,
  type PlanEvent,
  type PlanFields,
  planStream,
} from "../../domain/plan.ts";
import { priceTierDecider, priceTierStream } from "../../domain/price_tier.ts";
import { type IncomingMessage, type MessageHandler, PermanentFailure } from "../ports/bus.ts";
import { type Clock } from "../ports/clock.ts";
import { nameBasedId } from "../shared/ids.ts";
import {
  type DomainEvent,
  handleCommand,
  readState,
  type StreamState,
} from "../shared/command_handler.ts";
import type { EventStore, RecordedEvent } from "../ports/event_store.ts";
import {
  HEADERS,
  type IntegrationEvent,
  type IntegrationEventOf,
  parseMessage,
} from "../shared/integration_events.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import {
  idempotencyKeyFor,
  PermanentStripeError,
  type ProductChanges,
  type StripeGateway,
} from "../ports/stripe_gateway.ts";

export type OutboundDeps = {
  store: EventStore;
  gateway: StripeGateway;
  clock: Clock;
  logger?: Logger;
};

/** The object this event needs is not in Stripe yet: the bus retries the message later. */
export class NotInStripeYet extends Error {
  override name = "NotInStripeYet";
}

type Ctx = OutboundDeps & { message: IncomingMessage; event: IntegrationEvent; logger: Logger };

/** The id of the event that records this causing event's outcome on `streamId`. */
type Outcome = "link" | "failed" | "restored";
const outcomeId = (ctx: Ctx, streamId: string, outcome: Outcome) =>
  nameBasedId("outbound", `${ctx.event.eventId}|${streamId}|${outcome}`);

const handledAlready = async (ctx: Ctx, streamId: string, loaded: StreamState<unknown>) =>
  loaded.eventIds.has(await outcomeId(ctx, streamId, "link")) ||
  loaded.eventIds.has(await outcomeId(ctx, streamId, "failed"));

const record = async <C, E extends DomainEvent, S>(
  ctx: Ctx,
  decider: Decider<C, E, S>,
  streamId: string,
  outcome: Outcome,
  command: C,
): Promise<void> => {
  const eventId = await outcomeId(ctx, streamId, outcome);
  const { message, event } = ctx;
  await handleCommand(ctx.store, decider, streamId, command, {
    metadata: {
      correlationId: message.headers[HEADERS.correlationId] ?? event.eventId,
      causationId: event.eventId,
      cause: {
        kind: "bus",
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        messageId: event.eventId,
      },
    },
    // Each of these commands appends at most one event.
    newEventId: () => eventId,
  });
};

/**
 * Stripe's answer: the id, or null after recording Stripe's refusal with `refused`.
 * `keyOf` names a call other than the event's whole one (see changeProduct).
 */
const callStripe = async (
  ctx: Ctx,
  call: (idempotencyKey: string) => Promise<string>,
  refused: (error: string) => Promise<void>,
  keyOf = ctx.event.eventId,
): Promise<string | null> => {
  try {
    return await call(idempotencyKeyFor(keyOf));
  } catch (error) {
    if (!(error instanceof PermanentStripeError)) throw error;
    ctx.logger.warn("Stripe refused a call", { eventId: ctx.event.eventId, error: error.message });
    await refused(error.message);
    return null;
  }
};

type Synced = "plan" | "priceTier" | "client";

/** Records Stripe's refusal (or why there will never be a call) on the object: FAILED. */
const markFailed = (ctx: Ctx, kind: Synced, id: string) => (error: string): Promise<void> => {
  const at = ctx.clock();
  switch (kind) {
    case "plan":
      return record(ctx, planDecider, planStream(id), "failed", {
        type: "MarkPlanSyncFailed",
        data: { planId: id, at, error },
      });
    case "priceTier":
      return record(ctx, priceTierDecider, priceTierStream(id), "failed", {
        type: "MarkPriceTierSyncFailed",
        data: { priceTierId: id, at, error },
      });
    case "client":
      return record(ctx, clientDecider, clientStream(id), "failed", {
        type: "MarkClientSyncFailed",
        data: { clientId: id, at, error },
      });
  }
};

const existing = <S>(state: S | null, what: string): S => {
  if (state === null) throw new PermanentFailure(`${what} is not in the event store`);
  return state;
};

/** The plan's Stripe product; null when there will never be one to change. */
const productOf = (plan: Plan): string | null => {
  if (plan.stripeProductId !== null) return plan.stripeProductId;
  if (plan.syncStatus === "FAILED") return null;
  throw new NotInStripeYet(`plan ${plan.id} has no Stripe product yet`);
};

const planCreated = async (ctx: Ctx, event: IntegrationEventOf<"PlanCreatedEvent">) => {
  const { planId, name, description, iconUrl, isActive } = event.data;
  const stream = planStream(planId);
  const loaded = await readState(ctx.store, planDecider, stream);
  const plan = existing(loaded.state, `plan ${planId}`);
  // Linked already: a redelivery, or a plan imported from Stripe.
  if (plan.stripeProductId !== null || await handledAlready(ctx, stream, loaded)) return;
  const productId = await callStripe(
    ctx,
    (key) =>
      ctx.gateway.createProduct(
        { nudgesPlanId: planId, name, description, iconUrl, active: isActive },
        key,
      ),
    markFailed(ctx, "plan", planId),
  );
  if (productId === null) return;
  await record(ctx, planDecider, stream, "link", {
    type: "LinkStripeProduct",
    data: { planId, at: ctx.clock(), stripeProductId: productId },
  });
};

type PlanField = keyof PlanFields;
const PLAN_FIELDS: readonly PlanField[] = ["name", "description", "iconUrl", "isActive"];

/**
 * The plan fields that events after the causing one set again. A delayed call must not
 * send its older values for them: a newer Dashboard edit is never sent back to Stripe,
 * and the echo of the delayed call is recognised as Nudges' own, so Stripe would keep the
 * older value for good. A newer Nudges change sends its own values when its turn comes.
 */
const setAgainLater = (recorded: readonly RecordedEvent[], ctx: Ctx, planId: string) => {
  const cause = recorded.findIndex((e) => e.metadata.eventId === ctx.event.eventId);
  if (cause < 0) {
    throw new PermanentFailure(
      `event ${ctx.event.eventId} is not in the stream of plan ${planId}: ` +
        "it cannot be ordered against the plan's later changes",
    );
  }
  const fields = new Set<PlanField>();
  for (const { type, data } of recorded.slice(cause + 1)) {
    const event = { type, data } as PlanEvent;
    switch (event.type) {
      case "PlanUpdated":
      case "PlanChangedInStripe":
        for (const field of Object.keys(event.data.changes)) fields.add(field as PlanField);
        break;
      case "PlanDeleted":
        fields.add("isActive");
        break;
      case "PlanDeletedInStripe":
        // The product is gone from Stripe: nothing is left to change there.
        PLAN_FIELDS.forEach((field) => fields.add(field));
        break;
    }
  }
  return fields;
};

const productChanges = ({ isActive, ...rest }: PlanChanges): ProductChanges => ({
  ...rest,
  ...(isActive !== undefined && { active: isActive }),
});

const changeProduct = async (ctx: Ctx, planId: string, changes: PlanChanges) => {
  const stream = planStream(planId);
  const loaded = await readState(ctx.store, planDecider, stream);
  const plan = existing(loaded.state, `plan ${planId}`);
  if (await handledAlready(ctx, stream, loaded)) return;
  const productId = productOf(plan);
  if (productId === null) {
    ctx.logger.warn("plan has no Stripe product to change", { planId, eventId: ctx.event.eventId });
    return;
  }
  const later = setAgainLater(loaded.recorded, ctx, planId);
  const fields = (Object.keys(changes) as PlanField[]).filter((field) => !later.has(field));
  if (fields.length === 0) {
    // Recording nothing keeps this idempotent: a redelivery finds the same later events.
    ctx.logger.debug("every change was superseded by a later one", { planId });
    return;
  }
  const current = Object.fromEntries(fields.map((field) => [field, changes[field]]));
  // Stripe refuses a key reused with other parameters (idempotency_error, which would mark
  // the plan FAILED), so a call that sends only part of the event's changes gets a key of
  // its own. Its values come from the event, so the field names identify its parameters.
  const whole = fields.length === Object.keys(changes).length;
  const updated = await callStripe(
    ctx,
    (key) => ctx.gateway.updateProduct(productId, productChanges(current), key),
    markFailed(ctx, "plan", planId),
    whole ? ctx.event.eventId : `${ctx.event.eventId}-${fields.sort().join("-")}`,
  );
  if (updated !== null && plan.syncStatus === "FAILED") {
    await record(ctx, planDecider, stream, "restored", {
      type: "MarkPlanSynced",
      data: { planId, at: ctx.clock() },
    });
  }
};

const planUpdated = (ctx: Ctx, event: IntegrationEventOf<"PlanUpdatedEvent">) =>
  changeProduct(ctx, event.data.planId, event.data.changes);

const planDeleted = (ctx: Ctx, event: IntegrationEventOf<"PlanDeletedEvent">) =>
  changeProduct(ctx, event.data.planId, { isActive: false });

const priceTierCreated = async (ctx: Ctx, event: IntegrationEventOf<"PriceTierCreatedEvent">) => {
  const { priceTierId, planId } = event.data;
  const stream = priceTierStream(priceTierId);
  const loaded = await readState(ctx.store, priceTierDecider, stream);
  const tier = existing(loaded.state, `price tier ${priceTierId}`);
  if (tier.stripePriceId !== null || await handledAlready(ctx, stream, loaded)) return;
  const refused = markFailed(ctx, "priceTier", priceTierId);
  const plan = (await readState(ctx.store, planDecider, planStream(planId))).state;
  if (plan === null) return await refused(`plan ${planId} does not exist`);
  // Waits for the plan's own message to create the product: never a second product.
  const productId = productOf(plan);
  if (productId === null) {
    return await refused(`plan ${planId} could not be created in Stripe: ${plan.syncError}`);
  }
  const priceId = await callStripe(
    ctx,
    (key) =>
      ctx.gateway.createPrice({
        nudgesPriceTierId: priceTierId,
        nudgesPlanId: planId,
        stripeProductId: productId,
        nickname: event.data.name,
        unitAmount: event.data.unitAmount,
        currency: event.data.currency,
        interval: event.data.interval,
        intervalCount: event.data.intervalCount,
      }, key),
    refused,
  );
  if (priceId === null) return;
  await record(ctx, priceTierDecider, stream, "link", {
    type: "LinkStripePrice",
    data: { priceTierId, at: ctx.clock(), stripePriceId: priceId },
  });
};

const priceTierDeleted = async (ctx: Ctx, event: IntegrationEventOf<"PriceTierDeletedEvent">) => {
  const { priceTierId } = event.data;
  const stream = priceTierStream(priceTierId);
  const loaded = await readState(ctx.store, priceTierDecider, stream);
  const tier = existing(loaded.state, `price tier ${priceTierId}`);
  if (await handledAlready(ctx, stream, loaded)) return;
  const priceId = tier.stripePriceId;
  if (priceId === null) {
    if (tier.syncStatus === "FAILED") return;
    throw new NotInStripeYet(`price tier ${priceTierId} has no Stripe price yet`);
  }
  await callStripe(
    ctx,
    (key) => ctx.gateway.archivePrice(priceId, key),
    markFailed(ctx, "priceTier", priceTierId),
  );
};

const clientCreated = async (ctx: Ctx, event: IntegrationEventOf<"ClientCreatedEvent">) => {
  const { clientId, name, email } = event.data;
  const stream = clientStream(clientId);
  const loaded = await readState(ctx.store, clientDecider, stream);
  const client = existing(loaded.state, `client ${clientId}`);
  if (client.stripeCustomerId !== null || await handledAlready(ctx, stream, loaded)) return;
  const customerId = await callStripe(
    ctx,
    (key) => ctx.gateway.createCustomer({ nudgesClientId: clientId, name, email }, key),
    markFailed(ctx, "client", clientId),
  );
  if (customerId === null) return;
  await record(ctx, clientDecider, stream, "link", {
    type: "LinkStripeCustomer",
    data: { clientId, at: ctx.clock(), stripeCustomerId: customerId },
  });
};

const dispatch = (ctx: Ctx): Promise<void> => {
  const { event } = ctx;
  switch (event.type) {
    case "PlanCreatedEvent":
      return planCreated(ctx, event);
    case "PlanUpdatedEvent":
      return planUpdated(ctx, event);
    case "PlanDeletedEvent":
      return planDeleted(ctx, event);
    case "PriceTierCreatedEvent":
      return priceTierCreated(ctx, event);
    case "PriceTierDeletedEvent":
      return priceTierDeleted(ctx, event);
    case "ClientCreatedEvent":
      return clientCreated(ctx, event);
    default:
      // Messages for other consumers (StripeProductCreatedEvent, webhooks): not ours.
      return Promise.resolve();
  }
};

/** Handles one message of TOPICS.plans, priceTiers or clients; throws to have it retried. */
export const outboundHandler = (deps: OutboundDeps): MessageHandler => async (message) => {
  const event = parseMessage(message);
  const logger = (deps.logger ?? silentLogger).with({ eventId: event.eventId, type: event.type });
  try {
    await dispatch({ ...deps, logger, message, event });
  } catch (error) {
    // A rule of the domain refused the outcome (say a link to a second product): this
    // message can never succeed.
    if (error instanceof DomainError) {
      throw new PermanentFailure(error.message, { code: error.code });
    }
    throw error;
  }
};
