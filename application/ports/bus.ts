/**
 * The Bus port: topics of keyed messages. At least once, ordered per key, an offset is
 * committed only after its handler succeeded, and a message that can never succeed
 * goes to a dead-letter topic with the reason instead of stalling its partition.
 * A consumer may run several handlers at once, never two of one key, and commits an
 * offset only once every message before it in its partition is done, so a crash
 * redelivers at most the messages it had in hand.
 * A consumer group seen for the first time starts from the oldest message kept.
 * @module
 */

export type Headers = Record<string, string>;

export type OutgoingMessage = {
  topic: string;
  /** Messages with the same key keep their order (same partition). */
  key: string;
  value: string;
  headers?: Headers;
};

export type IncomingMessage = {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Headers;
};

export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export type ConsumeOptions = {
  groupId: string;
  topics: readonly string[];
  handler: MessageHandler;
  /** Attempts before dead-lettering (default 5), with exponential backoff between them. */
  maxAttempts?: number;
  /** First backoff delay in ms (default 100), doubled each attempt up to maxBackoffMs. */
  initialBackoffMs?: number;
  /** Longest backoff delay in ms (default 5000). */
  maxBackoffMs?: number;
  /**
   * Handlers running at once (default 1), never two for messages of the same key. Up to
   * four times as many messages are taken in hand ahead of the oldest unfinished one.
   */
  concurrency?: number;
  /**
   * Told of a message that is about to be dead-lettered, before its copy is written (an
   * inbound Stripe event records why in its own stream). Tried again until it succeeds
   * or the consumer stops, when the message is left for the next consumer.
   */
  onDeadLetter?: (message: IncomingMessage, reason: DeadLetterReason) => Promise<void>;
};

/** Why a message was dead-lettered. */
export type DeadLetterReason = {
  /** The last error, "Name: message". */
  error: string;
  attempts: number;
  /** PermanentFailure.details, when given. */
  details?: unknown;
};

export type Consumer = {
  /**
   * Stop fetching and starting messages; those in hand finish. A failure while paused
   * does not count as an attempt: that message is tried again after resume() (a consumer
   * pauses while Stripe's breaker is open instead of dead-lettering what it holds).
   */
  pause(): void;
  resume(): void;
  /**
   * Let the handlers running finish, commit, disconnect. Messages taken in hand but not
   * started are left uncommitted, for the next consumer.
   */
  stop(): Promise<void>;
};

export interface Bus {
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  close(): Promise<void>;
  /** Resolves when the bus answers, rejects when it does not: for readiness probes. */
  ping?(): Promise<void>;
}

/**
 * What operators' tools need besides publishing: the topics there are and every message
 * a topic keeps (`deno task dead-letters` reads the dead-letter topics with them). Both
 * adapters offer it; consumers never need it.
 */
export interface BusBrowser {
  /** The names of the topics that exist, sorted. */
  topics(): Promise<string[]>;
  /** Every message `topic` keeps, oldest first per partition; none for a topic that does not exist. */
  read(topic: string): Promise<IncomingMessage[]>;
}

/** Thrown by a handler for a message that can never succeed: dead-letter it at once. */
export class PermanentFailure extends Error {
  override name = "PermanentFailure";
  constructor(message: string, readonly details?: unknown) {
    super(message);
  }
}

/** The dead-letter topic of a topic. */
export const deadLetterTopic = (topic: string): string => `${topic}.dead-letter`;

/** Headers a dead-lettered message carries besides its own. */
export const DEAD_LETTER_HEADERS = {
  error: "x-dead-letter-error",
  topic: "x-dead-letter-topic",
  partition: "x-dead-letter-partition",
  offset: "x-dead-letter-offset",
  attempts: "x-dead-letter-attempts",
  /** The consumer group that gave up on it (several groups read one topic). */
  group: "x-dead-letter-group",
  /** PermanentFailure.details as JSON, e.g. the zod issues of a message that did not parse. */
  details: "x-dead-letter-details",
  /** When it was dead-lettered (ISO 8601). */
  at: "x-dead-letter-at",
  /**
   * "omitted" when the value is not the original message but a note of what it was (a
   * message too large for the bus): such a letter cannot be sent back.
   */
  value: "x-dead-letter-value",
} as const;

/** Headers of a dead letter sent back to its topic (application/dead_letters/). */
export const RETRY_HEADERS = {
  /** On the message sent back: the id of the dead letter it was retried from. */
  from: "x-retried-from",
  /**
   * The consumer group that dead-lettered it: only that group handles it again, the
   * topic's other groups pass it by (they handled it the first time).
   */
  group: "x-retried-for-group",
  /**
   * On a mark left in the dead-letter topic: the id of the letter sent back, so that it
   * is sent back once however often a retry runs.
   */
  marks: "x-dead-letter-retried",
  /** On that mark: when (ISO 8601). */
  at: "x-dead-letter-retried-at",
} as const;

/** The largest message (key, value and headers, in bytes) either bus takes: under Kafka's default 1 MiB. */
export const MAX_MESSAGE_BYTES = 900 * 1024;

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
/** UTF-8 bytes of `text`, without encoding it when it is ASCII (most messages are). */
const utf8Bytes = (text: string) => ASCII.test(text) ? text.length : encoder.encode(text).length;

/**
 * A message's size as the bus counts it against MAX_MESSAGE_BYTES: key, value, header
 * names and values, and Kafka's per-record overhead.
 */
export const messageBytes = (message: OutgoingMessage): number => {
  let size = 64 + utf8Bytes(message.key) + utf8Bytes(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    size += 8 + utf8Bytes(name) + utf8Bytes(value);
  }
  return size;
};
