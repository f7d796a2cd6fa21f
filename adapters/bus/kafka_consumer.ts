/**
 * A consumer of the Kafka bus (kafka.ts): up to `concurrency` handlers at once across its
 * partitions, never two of one key (window.ts), offsets committed by hand per partition
 * only up to the first message not yet done. A batch kafkajs fetched is done before it
 * fetches the next (its rule), so a rebalance waits for the handlers running: a heartbeat
 * that tells of one is kept until they finished and committed.
 * @module
 */
import type { Consumer as KafkaConsumer, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import type {
  ConsumeOptions,
  Consumer,
  IncomingMessage,
  OutgoingMessage,
} from "../../application/ports/bus.ts";
import { HEADERS } from "../../application/shared/integration_events.ts";
import type { Logger } from "../../application/ports/logger.ts";
import { deadLetterMessage } from "./messages.ts";
import { deliver, deliveryPolicy, gate, type Outcome, type outcomeCounter } from "./delivery.ts";
import { messageWindow } from "./window.ts";

const text = (value: IHeaders[string]): string =>
  value === undefined ? "" : Array.isArray(value) ? value.map(String).join(",") : String(value);

export const toIncoming = (
  topic: string,
  partition: number,
  message: KafkaMessage,
): IncomingMessage => ({
  topic,
  partition,
  offset: message.offset,
  key: message.key?.toString() ?? "",
  value: message.value?.toString() ?? "",
  headers: Object.fromEntries(
    Object.entries(message.headers ?? {}).map(([name, value]) => [name, text(value)]),
  ),
});

// A consumer may start before anything was published: its metadata request has the
// broker create the topics, which then need a moment to get a leader.
const subscribe = async (consumer: KafkaConsumer, topics: readonly string[]) => {
  for (let attempt = 1;; attempt++) {
    try {
      return await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    } catch (error) {
      const type = (error as { type?: string }).type;
      const young = type === "UNKNOWN_TOPIC_OR_PARTITION" || type === "LEADER_NOT_AVAILABLE";
      if (!young || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
};

/** Consumes `options.topics` until stop(); `onStopped` is told once it has. */
export const kafkaConsumer = async (
  kafka: Kafka,
  consumeOptions: ConsumeOptions,
  { send, count, logger, sessionTimeout, onStopped }: {
    /** Publishes a dead-letter copy. */
    send: (messages: readonly OutgoingMessage[]) => Promise<void>;
    count: ReturnType<typeof outcomeCounter>;
    logger: Logger;
    sessionTimeout: number;
    onStopped: () => void;
  },
): Promise<Consumer> => {
  const log = logger.with({ groupId: consumeOptions.groupId });
  const policy = deliveryPolicy(consumeOptions, log);
  const { groupId, topics, handler } = consumeOptions;
  const control = gate();
  const consumer: KafkaConsumer = kafka.consumer({
    groupId,
    sessionTimeout,
    heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: true,
  });
  consumer.on(consumer.events.CRASH, ({ payload }) =>
    log.error("kafka consumer crashed", {
      error: String(payload.error),
      restart: payload.restart,
    }));

  // kafkajs' heartbeat throws when the group rebalances: kept for the batch to rethrow
  // once its handlers are done, so that they finish and commit before the rejoin.
  let beat: () => Promise<void> = () => Promise.resolve();
  let rebalance: unknown = null;
  const keepAlive = () =>
    beat().catch((error) => {
      rebalance ??= error;
    });

  const run = async (message: IncomingMessage): Promise<Outcome> => {
    const outcome = await deliver(message, handler, policy, control, keepAlive);
    if (outcome.kind !== "deadLetter") return outcome;
    log.warn("message dead-lettered", {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      correlationId: message.headers[HEADERS.correlationId],
      error: outcome.error,
    });
    // The copy is written before the offset may pass it; a broker away for longer than
    // the producer's retries leaves the message to the next consumer.
    for (let attempt = 1;; attempt++) {
      try {
        await send([deadLetterMessage(message, groupId, outcome)]);
        return outcome;
      } catch (error) {
        log.error("dead-letter copy not written, trying again", { error: String(error) });
        if (control.stopping.aborted) return { kind: "abandoned" };
        await control.wait(Math.min(1000 * attempt, 10_000));
      }
    }
  };

  // Commits of the finished runs, one request at a time, each with every partition
  // that moved since the last; a failed one (a rebalance) only means redelivery.
  let committing: Promise<void> | null = null;
  let again = false;
  const commit = (): Promise<void> => {
    if (committing) {
      again = true;
      return committing;
    }
    committing = (async () => {
      do {
        again = false;
        const commits = window.commits();
        if (commits.length === 0) continue;
        try {
          await consumer.commitOffsets(
            commits.map(({ topic, partition, nextOffset }) => ({
              topic,
              partition,
              offset: nextOffset,
            })),
          );
          for (const { settled } of commits) {
            for (const { message, outcome } of settled) count(outcome, groupId, message.topic);
          }
        } catch (error) {
          log.warn("offsets not committed; those messages will come again", {
            error: String(error),
          });
        }
      } while (again);
    })().finally(() => committing = null);
    return committing;
  };

  const window = messageWindow({
    concurrency: policy.concurrency,
    gate: control,
    run,
    onSettled: () => void commit(),
    keepAlive,
  });

  await consumer.connect();
  try {
    await subscribe(consumer, topics);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Batches of several partitions share the window: each admits its messages.
      partitionsConsumedConcurrently: Math.min(policy.concurrency, 64),
      eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
        beat = heartbeat;
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || rebalance !== null || control.paused) break;
          if (!await window.admit(toIncoming(batch.topic, batch.partition, message))) break;
          resolveOffset(message.offset);
        }
        // kafkajs fetches again once every batch it handed out returned; messages not
        // admitted (paused, stopping) are fetched again from the last one resolved.
        await window.drained();
        await commit();
        if (rebalance !== null) {
          const error = rebalance;
          rebalance = null;
          throw error;
        }
      },
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }

  const all = topics.map((topic) => ({ topic }));
  let stopped: Promise<void> | undefined;
  const handle: Consumer = {
    pause: () => {
      control.pause();
      consumer.pause(all);
    },
    resume: () => {
      control.resume();
      consumer.resume(all);
    },
    // kafkajs refuses commits once its consumer is stopping, so the handlers running
    // finish and commit first; pausing keeps kafkajs from handing over more.
    stop: () =>
      stopped ??= (async () => {
        control.stop();
        consumer.pause(all);
        await window.drained();
        await commit();
        await consumer.disconnect();
        onStopped();
      })(),
  };
  return handle;
};
