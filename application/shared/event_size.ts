/**
 * How large a recorded event may be. Each event the outbox publishes becomes one bus
 * message, and the bus takes none over MAX_MESSAGE_BYTES (Kafka's broker refuses a record
 * batch over its message.max.bytes, 1 MiB by default, and does not say so in a way worth
 * retrying). Refused on the way to the bus, an event would stop the outbox for good, so it
 * is refused when it is appended instead, with an error its caller sees: the command
 * handler (command_handler.ts) and the webhook record (inbound/webhook_record.ts) check it.
 * @module
 */
import { type DomainError, invalid } from "../../domain/decider.ts";
import { MAX_MESSAGE_BYTES } from "../ports/bus.ts";

/** Room kept in a message for its envelope (type, ids, time) and headers. */
export const MAX_EVENT_BYTES = MAX_MESSAGE_BYTES - 16 * 1024;

const encoder = new TextEncoder();

/** The size of `data` as JSON, in UTF-8 bytes (counted only when it could be too large). */
export const jsonBytes = (data: unknown): number => {
  const json = JSON.stringify(data ?? null);
  // A UTF-16 unit is at most 3 bytes of UTF-8: most events need no encoding to tell.
  return json.length * 3 <= MAX_EVENT_BYTES ? json.length : encoder.encode(json).length;
};

/** The refusal of an event over MAX_EVENT_BYTES: a DomainError (invalid, EventTooLarge). */
export const eventTooLarge = (type: string, streamId: string, bytes: number): DomainError =>
  invalid(
    "EventTooLarge",
    `${type} for ${streamId} would hold ${bytes} bytes; an event holds at most ` +
      `${MAX_EVENT_BYTES} bytes, so that its bus message stays under the broker's limit`,
  );

/** Throws eventTooLarge for the first of `events` whose data is over MAX_EVENT_BYTES. */
export const checkEventSizes = (
  streamId: string,
  events: readonly { type: string; data: unknown }[],
): void => {
  for (const { type, data } of events) {
    const bytes = jsonBytes(data);
    if (bytes > MAX_EVENT_BYTES) throw eventTooLarge(type, streamId, bytes);
  }
};
