/**
 * A Stripe event the inbound consumer gives up on is recorded in its own stream
 * (`stripeEvent-<id>`, StripeWebhookDeadLettered) with the reason, before its dead letter
 * is written: `deno task replay --stream stripeEvent-<id>` then shows why it was not
 * applied, beside when it was received (and, after `deno task dead-letters retry`, when it
 * was applied). Once per dead-lettering of a message: its id derives from where the
 * message was.
 * @module
 */
import type { DeadLetterReason, IncomingMessage } from "../ports/bus.ts";
import type { Clock } from "../ports/clock.ts";
import { type EventStore, WrongExpectedRevision } from "../ports/event_store.ts";
import { nameBasedId } from "../shared/ids.ts";
import { HEADERS } from "../shared/integration_events.ts";
import {
  STRIPE_WEBHOOK_DEAD_LETTERED,
  STRIPE_WEBHOOK_RECEIVED,
  type StripeEventRecord,
  stripeEventStream,
} from "../shared/stripe_events.ts";

/** The Stripe event id a message of TOPICS.stripeEvents carries, if it can be read. */
const stripeEventIdOf = (message: IncomingMessage): string | null => {
  try {
    const id = JSON.parse(message.value)?.data?.stripeEventId;
    return typeof id === "string" && id !== "" ? id : null;
  } catch {
    return null;
  }
};

/**
 * The ConsumeOptions.onDeadLetter of the inbound consumer (group `group`). A message that
 * names no recorded Stripe event (it did not parse) has no stream to record in: its dead
 * letter alone says why.
 */
export const recordDeadLetter = (
  { store, clock }: { store: EventStore; clock: Clock },
  group: string,
) =>
async (message: IncomingMessage, reason: DeadLetterReason): Promise<void> => {
  const stripeEventId = stripeEventIdOf(message);
  if (stripeEventId === null) return;
  const stream = stripeEventStream(stripeEventId);
  const eventId = nameBasedId(
    "stripeEffect",
    `${stripeEventId}|deadLettered|${message.topic}|${message.partition}|${message.offset}`,
  );
  for (let attempt = 1;; attempt++) {
    const recorded = await store.readStream<StripeEventRecord>(stream);
    // Only beside the record of its receipt: a stream made here would make the endpoint
    // take a later delivery of this event for a duplicate.
    if (!recorded.some((e) => e.type === STRIPE_WEBHOOK_RECEIVED)) return;
    if (recorded.some((e) => e.metadata.eventId === eventId)) return;
    const causationId = message.headers[HEADERS.eventId] ?? eventId;
    try {
      // Not through the command handler: a record with no rule but "once", which the id
      // and the expected revision enforce.
      await store.append(stream, [{
        type: STRIPE_WEBHOOK_DEAD_LETTERED,
        data: {
          stripeEventId,
          reason: reason.error,
          attempts: reason.attempts,
          ...(reason.details === undefined ? {} : { details: reason.details }),
          group,
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          deadLetteredAt: clock(),
        },
        metadata: {
          eventId,
          correlationId: message.headers[HEADERS.correlationId] ?? causationId,
          causationId,
          cause: {
            kind: "bus",
            topic: message.topic,
            partition: message.partition,
            offset: message.offset,
            messageId: message.headers[HEADERS.eventId],
          },
        },
      }], recorded.at(-1)!.revision);
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevision) || attempt >= 3) throw error;
    }
  }
};
