/**
 * The Bus port: topics of keyed messages. At least once, ordered per key, an offset is
 * committed only after its handler succeeded, and a message that can never succeed
 * goes to a dead-letter topic with the reason instead of stalling its partition.
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
};

export type Consumer = {
  /**
   * Stop fetching new messages; the one in hand finishes. A failure while paused does
   * not count as an attempt: that message is tried again after resume() (a consumer
   * pauses while Stripe's breaker is open instead of dead-lettering what it holds).
   */
  pause(): void;
  resume(): void;
  /** Finish the message in hand, commit, disconnect. */
  stop(): Promise<void>;
};

export interface Bus {
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  close(): Promise<void>;
  /** Resolves when the bus answers, rejects when it does not: for readiness probes. */
  ping?(): Promise<void>;
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
} as const;
