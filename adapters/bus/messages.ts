/**
 * What both bus adapters put on the wire besides the caller's messages: the checks a
 * message passes before it is published, and the dead-letter copy of a failed one.
 * @module
 */
import {
  DEAD_LETTER_HEADERS,
  type DeadLetterReason,
  deadLetterTopic,
  type IncomingMessage,
  MAX_MESSAGE_BYTES,
  messageBytes,
  type OutgoingMessage,
} from "../../application/ports/bus.ts";

export { messageBytes };

// Kafka's rule for topic names; the in-process bus keeps to it so a topic works on both.
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export const isTopicName = (name: unknown): name is string =>
  typeof name === "string" && TOPIC.test(name);

/** Refuses a batch with any message Kafka would refuse or that could not be ordered. */
export const checkOutgoing = (messages: readonly OutgoingMessage[]): void => {
  messages.forEach((message, index) => {
    const where = `publish(): message ${index + 1} of ${messages.length}`;
    if (!isTopicName(message.topic)) {
      throw new TypeError(
        `${where}: topic must be 1 to 249 letters, digits, ".", "_" or "-", got ${
          JSON.stringify(message.topic)
        }`,
      );
    }
    if (typeof message.key !== "string" || message.key === "") {
      throw new TypeError(`${where} (topic ${message.topic}): key must be a non-empty string`);
    }
    if (typeof message.value !== "string") {
      throw new TypeError(`${where} (topic ${message.topic}): value must be a string`);
    }
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (typeof value !== "string") {
        throw new TypeError(`${where} (topic ${message.topic}): header ${name} must be a string`);
      }
    }
    const size = messageBytes(message);
    if (size > MAX_MESSAGE_BYTES) {
      throw new RangeError(
        `${where} (topic ${message.topic}, key ${message.key}): ${size} bytes is over the ` +
          `bus's limit of ${MAX_MESSAGE_BYTES} bytes a message`,
      );
    }
  });
};

export type DeadLetter = DeadLetterReason;

const MAX_ERROR = 4000;

/** The copy of a message that goes to its dead-letter topic: same key and value, and why. */
export const deadLetterMessage = (
  message: IncomingMessage,
  group: string,
  { error, attempts, details }: DeadLetter,
): OutgoingMessage => {
  const headers: Record<string, string> = {
    ...message.headers,
    [DEAD_LETTER_HEADERS.error]: error.slice(0, MAX_ERROR),
    [DEAD_LETTER_HEADERS.topic]: message.topic,
    [DEAD_LETTER_HEADERS.partition]: String(message.partition),
    [DEAD_LETTER_HEADERS.offset]: message.offset,
    [DEAD_LETTER_HEADERS.attempts]: String(attempts),
    [DEAD_LETTER_HEADERS.group]: group,
    [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
  };
  if (details !== undefined) headers[DEAD_LETTER_HEADERS.details] = JSON.stringify(details);
  return { topic: deadLetterTopic(message.topic), key: message.key, value: message.value, headers };
};
