/**
 * Inbound: Stripe → Nudges. The webhook endpoint records each verified Stripe event of a
 * handled type in its own stream (webhook_record.ts); the outbox puts it on the bus;
 * `inboundHandler` turns the bus message into domain commands (handlers.ts), once per
 * Stripe event.
 * @module
 */
import { DomainError } from "../../domain/decider.ts";
import {
  type Bus,
  type Consumer,
  type MessageHandler,
  PermanentFailure,
  RETRY_HEADERS,
} from "../ports/bus.ts";
import type { Clock } from "../ports/clock.ts";
import { type EventStore, WrongExpectedRevision } from "../ports/event_store.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import type { StripeGateway } from "../ports/stripe_gateway.ts";
import { nameBasedId } from "../shared/ids.ts";
import {
  HEADERS,
  parseMessage,
  StripeWebhookReceivedEvent,
  TOPICS,
} from "../shared/integration_events.ts";
import {
  isHandledStripeEventType,
  STRIPE_WEBHOOK_APPLIED,
  type StripeEventRecord,
  stripeEventStream,
} from "../shared/stripe_events.ts";
import type { InboundContext } from "./context.ts";
import { recordDeadLetter } from "./dead_letter_record.ts";
import { STRIPE_EVENT_HANDLERS } from "./handlers.ts";

export type InboundDeps = {
  store: EventStore;
  clock: Clock;
  logger?: Logger;
  /** For a Checkout Session without metadata.nudges_*: its line items name the price. */
  gateway?: StripeGateway;
};

// A refusal by the domain will not change on retry, except a concurrent import.
const RETRYABLE_CODES = new Set(["PlanExists", "PriceTierExists"]);
const asBusFailure = (error: unknown): unknown =>
  error instanceof DomainError && !RETRYABLE_CODES.has(error.code)
    ? new PermanentFailure(`${error.code}: ${error.message}`, { code: error.code })
    : error;

/**
 * The consumer of TOPICS.stripeEvents. Throws PermanentFailure for what can never apply
 * (dead-lettered at once) and other errors for what may apply later (retried).
 */
export const inboundHandler = (
  { store, clock, logger = silentLogger, gateway }: InboundDeps,
): MessageHandler =>
async (message) => {
  const { eventId, data } = parseMessage(message, StripeWebhookReceivedEvent);
  const { stripeEventId, stripeEventType, created, event } = data;
  const log = logger.with({ stripeEventId, stripeEventType });
  if (!isHandledStripeEventType(stripeEventType)) {
    // Recorded while Nudges handled the type (an older version): nothing applies it now.
    log.warn("Stripe event of a type Nudges does not handle, skipped");
    return;
  }
  const record = stripeEventStream(stripeEventId);
  const recorded = await store.readStream<StripeEventRecord>(record);
  if (recorded.some((e) => e.type === STRIPE_WEBHOOK_APPLIED)) {
    log.debug("Stripe event applied before, skipped");
    return;
  }
  const cause = { kind: "stripe" as const, stripeEventId, stripeEventType };
  const correlationId = message.headers[HEADERS.correlationId] ?? eventId;
  const ctx: InboundContext = {
    store,
    clock,
    stripeEventId,
    stripeEventType,
    created,
    event,
    metadata: { correlationId, causationId: eventId, cause },
    gateway,
    logger: log,
  };
  try {
    await STRIPE_EVENT_HANDLERS[stripeEventType](ctx);
  } catch (error) {
    throw asBusFailure(error);
  }
  const appliedId = nameBasedId("stripeEffect", `${stripeEventId}|applied`);
  const retriedFrom = message.headers[RETRY_HEADERS.from];
  try {
    // Not through the command handler: a marker with no rule but "not twice", which the
    // expected revision (the one read above) enforces.
    await store.append(record, [{
      type: STRIPE_WEBHOOK_APPLIED,
      data: { stripeEventId, appliedAt: clock(), ...(retriedFrom ? { retriedFrom } : {}) },
      metadata: { ...ctx.metadata, eventId: appliedId },
    }], recorded.at(-1)?.revision ?? "noStream");
  } catch (error) {
    // Another delivery of the same event marked it first: the effects are done either way.
    if (!(error instanceof WrongExpectedRevision)) throw error;
  }
  log.debug("Stripe event applied");
};

export const INBOUND_GROUP = "nudges-inbound";

/**
 * Consumes TOPICS.stripeEvents. Nothing waits here on another message (a price that
 * comes before its product is parked, not retried), so retries are for a store that
 * fails for a while: about a minute and a half of backoff before dead-lettering.
 */
export const startInbound = (
  bus: Bus,
  deps: InboundDeps,
  { concurrency }: { concurrency?: number } = {},
): Promise<Consumer> =>
  bus.consume({
    groupId: INBOUND_GROUP,
    topics: [TOPICS.stripeEvents],
    handler: inboundHandler(deps),
    maxAttempts: 10,
    initialBackoffMs: 200,
    maxBackoffMs: 30_000,
    // Events of different Stripe objects apply in any order (parked_prices.ts); one
    // object's keep theirs.
    concurrency,
    // Why an event was not applied is kept in its own stream too, not only on the bus.
    onDeadLetter: recordDeadLetter(deps, INBOUND_GROUP),
  });
