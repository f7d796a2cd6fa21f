/**
 * How both bus adapters hand one message to its handler: attempts with exponential
 * backoff, an immediate give-up on PermanentFailure, patience while the consumer is
 * paused, and letting go (uncommitted) when the consumer stops. Which messages run at
 * once, and which offsets may be committed, is window.ts.
 * @module
 */
import {
  type ConsumeOptions,
  type IncomingMessage,
  PermanentFailure,
  RETRY_HEADERS,
} from "../../application/ports/bus.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import { type Metrics, noMetrics } from "../../application/ports/metrics.ts";
import { type DeadLetter, isTopicName } from "./messages.ts";

export type Outcome =
  | { kind: "handled" }
  | ({ kind: "deadLetter" } & DeadLetter)
  /** The consumer is stopping: leave the message uncommitted for the next consumer. */
  | { kind: "abandoned" };

/** A consumer's pause/stop switches, shared by its fetch loop and its deliveries. */
export type Gate = {
  readonly paused: boolean;
  readonly stopping: AbortSignal;
  pause(): void;
  resume(): void;
  stop(): void;
  /** Resolves on resume() or stop(), or after `ms`. */
  wait(ms: number): Promise<void>;
};

export const gate = (): Gate => {
  let paused = false;
  const stopper = new AbortController();
  let wake = new Set<() => void>();
  const wakeAll = () => {
    const waiting = wake;
    wake = new Set();
    for (const resolve of waiting) resolve();
  };
  return {
    get paused() {
      return paused;
    },
    stopping: stopper.signal,
    pause: () => void (paused = true),
    resume: () => {
      paused = false;
      wakeAll();
    },
    stop: () => {
      stopper.abort();
      wakeAll();
    },
    wait: (ms) =>
      stopper.signal.aborted ? Promise.resolve() : new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake.add(done);
      }),
  };
};

export type DeliveryPolicy = {
  groupId: string;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  concurrency: number;
  onDeadLetter?: ConsumeOptions["onDeadLetter"];
  logger: Logger;
};

/** The policy of a consumer, after checking its options. */
export const deliveryPolicy = (
  options: ConsumeOptions,
  logger: Logger = silentLogger,
): DeliveryPolicy => {
  if (typeof options.groupId !== "string" || options.groupId.trim() === "") {
    throw new TypeError("consume(): groupId must be a non-empty string");
  }
  if (!Array.isArray(options.topics) || options.topics.length === 0) {
    throw new TypeError(`consume() of group ${options.groupId}: topics must list at least one`);
  }
  const bad = options.topics.find((topic) => !isTopicName(topic));
  if (bad !== undefined) {
    throw new TypeError(
      `consume() of group ${options.groupId}: ${JSON.stringify(bad)} is not a topic name`,
    );
  }
  if (typeof options.handler !== "function") {
    throw new TypeError(`consume() of group ${options.groupId}: handler must be a function`);
  }
  const policy = {
    groupId: options.groupId,
    maxAttempts: options.maxAttempts ?? 5,
    initialBackoffMs: options.initialBackoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 5000,
    concurrency: options.concurrency ?? 1,
    onDeadLetter: options.onDeadLetter,
    logger,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a whole number from 1, got ${policy.maxAttempts}`);
  }
  if (!Number.isInteger(policy.concurrency) || policy.concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number from 1, got ${policy.concurrency}`);
  }
  if (!(policy.initialBackoffMs >= 0) || !(policy.maxBackoffMs >= policy.initialBackoffMs)) {
    throw new RangeError(
      `backoff must satisfy 0 <= initialBackoffMs <= maxBackoffMs, got ${policy.initialBackoffMs} and ${policy.maxBackoffMs}`,
    );
  }
  return policy;
};

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${String(error)}`;

/**
 * Hands `message` to `handler` until it succeeds, fails for good, or the consumer stops.
 * `keepAlive` runs at least every `keepAliveMs` while waiting (Kafka's heartbeat, so a
 * long backoff or pause does not cost the consumer its partitions).
 */
export const deliver = async (
  message: IncomingMessage,
  handler: ConsumeOptions["handler"],
  policy: DeliveryPolicy,
  gate: Gate,
  keepAlive: () => Promise<void> = () => Promise.resolve(),
  keepAliveMs = 3000,
): Promise<Outcome> => {
  const waitFor = async (ms: number, until: () => boolean) => {
    const end = Date.now() + ms;
    while (!gate.stopping.aborted && !until() && Date.now() < end) {
      await gate.wait(Math.min(keepAliveMs, end - Date.now()));
      if (!gate.stopping.aborted) await keepAlive();
    }
  };
  const backoff = (attempt: number) =>
    Math.min(policy.initialBackoffMs * 2 ** (attempt - 1), policy.maxBackoffMs);
  /** Tells onDeadLetter until it listens; abandoned when the consumer stops first. */
  const givenUp = async (letter: DeadLetter): Promise<Outcome> => {
    for (let attempt = 1; policy.onDeadLetter; attempt++) {
      if (gate.stopping.aborted) return { kind: "abandoned" };
      try {
        await policy.onDeadLetter(message, letter);
        break;
      } catch (error) {
        policy.logger.warn("onDeadLetter failed, trying again", {
          topic: message.topic,
          offset: message.offset,
          error: describe(error),
        });
        await waitFor(backoff(attempt), () => false);
      }
    }
    return { kind: "deadLetter", ...letter };
  };
  // A dead letter sent back for another group: this group handled it the first time.
  const retriedFor = message.headers[RETRY_HEADERS.group];
  if (retriedFor !== undefined && retriedFor !== policy.groupId) return { kind: "handled" };
  let attempts = 0;
  for (;;) {
    while (gate.paused && !gate.stopping.aborted) await waitFor(keepAliveMs, () => !gate.paused);
    if (gate.stopping.aborted) return { kind: "abandoned" };
    attempts++;
    try {
      await handler(message);
      return { kind: "handled" };
    } catch (error) {
      if (error instanceof PermanentFailure) {
        return givenUp({ error: describe(error), attempts, details: error.details });
      }
      if (gate.paused) {
        attempts--; // the consumer was paused for a reason: this failure does not count
        continue;
      }
      if (attempts >= policy.maxAttempts) return givenUp({ error: describe(error), attempts });
      if (gate.stopping.aborted) return { kind: "abandoned" };
      await waitFor(backoff(attempts), () => false);
    }
  }
};

/** Counts, once committed, what a consumer group did with a message: handled or dead-lettered. */
export const outcomeCounter = (metrics: Metrics = noMetrics) => {
  const consumed = metrics.counter(
    "bus_messages_consumed_total",
    "Messages a consumer group handled and committed, by group and topic",
  );
  const deadLettered = metrics.counter(
    "bus_messages_dead_lettered_total",
    "Messages a consumer group gave up on and moved to the dead-letter topic",
  );
  return (outcome: Outcome, group: string, topic: string) => {
    if (outcome.kind === "handled") consumed.inc({ group, topic });
    else if (outcome.kind === "deadLetter") deadLettered.inc({ group, topic });
  };
};
