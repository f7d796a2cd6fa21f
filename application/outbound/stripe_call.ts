/**
 * How outbound sync calls Stripe and records the outcome, for every aggregate alike.
 * Exactly once, though the bus delivers at least once: each call's idempotency key and
 * each recorded outcome's event id derive from the causing event's id, and an object
 * whose outcome for this event is recorded is not sent again. A permanent refusal
 * marks the object FAILED with Stripe's message; a transient fault is thrown, for the
 * bus to retry.
 * @module
 */
import type { DomainEvent } from "../../domain/decider.ts";
import { type IncomingMessage, PermanentFailure } from "../ports/bus.ts";
import type { Clock } from "../ports/clock.ts";
import type { EventMetadata, EventStore, RecordedEvent } from "../ports/event_store.ts";
import type { Logger } from "../ports/logger.ts";
import {
  idempotencyKeyFor,
  PermanentStripeError,
  type SearchableKind,
  type StripeGateway,
  type StripeReader,
} from "../ports/stripe_gateway.ts";
import { clients, plans, priceTiers } from "../shared/aggregates.ts";
import {
  type Aggregate,
  appliedBefore,
  type CommandOptions,
  type Once,
  type StreamState,
} from "../shared/command_handler.ts";
import { HEADERS, type IntegrationEvent } from "../shared/integration_events.ts";

export type OutboundDeps = {
  store: EventStore;
  /** With findByMetadata, a create whose idempotency key Stripe may have forgotten looks first. */
  gateway: StripeGateway & Partial<Pick<StripeReader, "findByMetadata">>;
  clock: Clock;
  logger?: Logger;
};

/** One integration event being handled: what every outbound handler works with. */
export type OutboundContext = OutboundDeps & {
  event: IntegrationEvent;
  logger: Logger;
  /** What the outcomes recorded name as their cause: the bus message, or a reconcile run. */
  metadata: Omit<EventMetadata, "eventId">;
};

/** The metadata of the outcomes of an event that came as a bus message. */
export const busMetadata = (
  message: IncomingMessage,
  event: IntegrationEvent,
): Omit<EventMetadata, "eventId"> => ({
  correlationId: message.headers[HEADERS.correlationId] ?? event.eventId,
  causationId: event.eventId,
  cause: {
    kind: "bus",
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    messageId: event.eventId,
  },
});

/** The object this event needs is not in Stripe yet: the bus retries the message later. */
export class NotInStripeYet extends Error {
  override name = "NotInStripeYet";
}

/** What a causing event may record on an object: its link, its refusal, a restored sync. */
export type Outcome = "link" | "failed" | "restored";

const once = (ctx: OutboundContext, outcome: Outcome): Once => ({
  scope: "outbound",
  cause: ctx.event.eventId,
  step: outcome,
});

/** The command options of an outcome recorded for the causing event. */
const outcomeOptions = (ctx: OutboundContext, outcome: Outcome): CommandOptions => ({
  metadata: ctx.metadata,
  once: once(ctx, outcome),
});

/** True when this event's call was made and its link or refusal recorded: a redelivery. */
export const handledAlready = (
  ctx: OutboundContext,
  target: Aggregate<unknown, DomainEvent, unknown>,
  id: string,
  loaded: StreamState<DomainEvent, unknown>,
): boolean =>
  appliedBefore(loaded, target.streamId(id), once(ctx, "link")) ||
  appliedBefore(loaded, target.streamId(id), once(ctx, "failed"));

/** Records the causing event's outcome on an object, once. */
export const record = async <C, E extends DomainEvent, S>(
  ctx: OutboundContext,
  target: Aggregate<C, E, S>,
  outcome: Outcome,
  command: C,
): Promise<void> => {
  await target.handle(ctx.store, command, outcomeOptions(ctx, outcome));
};

/**
 * Stripe's answer: the id, or null after recording Stripe's refusal with `refused`.
 * `keyOf` names a call other than the event's whole one (a partial product update).
 */
export const callStripe = async (
  ctx: OutboundContext,
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

/**
 * Sends the part of an event's `changes` that no event after it in the object's stream set
 * again (`setBy`: the fields an event sets). A delayed call must not send its older values:
 * a newer Dashboard edit is never sent back to Stripe (its echo is recognised as Nudges'
 * own), so Stripe would keep the older value for good; a newer Nudges change sends its own
 * values when its turn comes. Stripe's answer, or null: refused (recorded by `refused`), or
 * every change superseded (nothing recorded, so a redelivery finds the same later events).
 * Throws PermanentFailure when the causing event is not in the stream: it cannot be ordered
 * against the later ones.
 */
export const updateInStripe = async <E extends DomainEvent, C extends object>(
  ctx: OutboundContext,
  { what, recorded, setBy }: {
    /** The object, as errors name it: "plan plan-1". */
    what: string;
    recorded: readonly RecordedEvent<E>[];
    setBy: (event: RecordedEvent<E>) => Iterable<keyof C>;
  },
  changes: C,
  update: (current: Partial<C>, idempotencyKey: string) => Promise<string>,
  refused: (error: string) => Promise<void>,
): Promise<string | null> => {
  const { eventId } = ctx.event;
  const cause = recorded.findIndex((e) => e.metadata.eventId === eventId);
  if (cause < 0) {
    throw new PermanentFailure(
      `event ${eventId} is not in the stream of ${what}: ` +
        "it cannot be ordered against its later changes",
    );
  }
  const later = new Set(recorded.slice(cause + 1).flatMap((event) => [...setBy(event)]));
  const fields = (Object.keys(changes) as (keyof C & string)[]).filter((f) => !later.has(f));
  if (fields.length === 0) {
    ctx.logger.debug("every change was superseded by a later one", { what, eventId });
    return null;
  }
  const current = Object.fromEntries(fields.map((field) => [field, changes[field]]));
  // Stripe refuses a key reused with other parameters (idempotency_error, which would mark
  // the object FAILED), so a call that sends only part of the event's changes gets a key of
  // its own. Its values come from the event, so the field names identify its parameters.
  const whole = fields.length === Object.keys(changes).length;
  return await callStripe(
    ctx,
    (key) => update(current as Partial<C>, key),
    refused,
    whole ? eventId : `${eventId}-${fields.sort().join("-")}`,
  );
};

/**
 * Stripe keeps an idempotency key for at least 24 hours. A create is made after its
 * causing event, so while the event is younger than this its key covers every earlier
 * attempt; an older one may have made its object under a key Stripe has since forgotten.
 */
export const KEY_WINDOW_MS = 23 * 3_600_000;

/**
 * The Stripe object an earlier attempt of this event's create made, found by the Nudges id
 * in its metadata; only for events older than the key window (search lags writes by up to
 * a minute, and a newer event's key answers for it). Null: create it.
 */
const earlierTwin = async (
  ctx: OutboundContext,
  kind: SearchableKind,
  metadataKey: string,
  nudgesId: string,
): Promise<string | null> => {
  const age = Date.parse(ctx.clock()) - Date.parse(ctx.event.occurredAt);
  if (!(age > KEY_WINDOW_MS) || ctx.gateway.findByMetadata === undefined) return null;
  const found = await ctx.gateway.findByMetadata(kind, metadataKey, nudgesId);
  if (found !== null) {
    ctx.logger.info("found the twin of an earlier create, linking it", { nudgesId, found });
  }
  return found;
};

/**
 * The Stripe object a create links to: the twin an earlier create left (earlierTwin), else
 * the one `create` makes; null when Stripe refused it (recorded by `refused`).
 */
export const createInStripe = async (
  ctx: OutboundContext,
  twin: { kind: SearchableKind; metadataKey: string; nudgesId: string },
  create: (idempotencyKey: string) => Promise<string>,
  refused: (error: string) => Promise<void>,
): Promise<string | null> =>
  await earlierTwin(ctx, twin.kind, twin.metadataKey, twin.nudgesId) ??
    await callStripe(ctx, create, refused);

type Synced = "plan" | "priceTier" | "client";

/** Records Stripe's refusal (or why there will never be a call) on the object: FAILED. */
export const markFailed =
  (ctx: OutboundContext, kind: Synced, id: string) => (error: string): Promise<void> => {
    const at = ctx.clock();
    switch (kind) {
      case "plan":
        return record(ctx, plans, "failed", {
          type: "MarkPlanSyncFailed",
          data: { planId: id, at, error },
        });
      case "priceTier":
        return record(ctx, priceTiers, "failed", {
          type: "MarkPriceTierSyncFailed",
          data: { priceTierId: id, at, error },
        });
      case "client":
        return record(ctx, clients, "failed", {
          type: "MarkClientSyncFailed",
          data: { clientId: id, at, error },
        });
    }
  };

/** The object's state; a message about an object the store lacks can never succeed. */
export const existing = <S>(state: S | null, what: string): S => {
  if (state === null) throw new PermanentFailure(`${what} is not in the event store`);
  return state;
};
