/**
 * The Bus on Apache Kafka through kafkajs. Each consumer runs up to `concurrency`
 * handlers at once across its partitions, never two of one key (window.ts). Offsets are
 * committed by hand, per partition only up to the first message not yet done (handled,
 * or its dead-letter copy written), so a crash at any point redelivers instead of
 * losing, and redelivers at most the messages in hand. A batch kafkajs fetched is done
 * before it fetches the next (its rule), so a rebalance waits for the handlers running.
 * Published batches are split so that no request carries more than the broker takes.
 * @module
 */
import {
  type Admin,
  type Consumer as KafkaConsumer,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import {
  type Bus,
  type BusBrowser,
  type ConsumeOptions,
  type Consumer,
  type IncomingMessage,
  MAX_MESSAGE_BYTES,
  type OutgoingMessage,
} from "../../application/ports/bus.ts";
import { HEADERS } from "../../application/shared/integration_events.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import type { Metrics } from "../../application/ports/metrics.ts";
import { checkOutgoing, deadLetterMessage, messageBytes } from "./messages.ts";
import { deliver, deliveryPolicy, gate, type Outcome, outcomeCounter } from "./delivery.ts";
import { kafkaBrowser } from "./kafka_topics.ts";
import { messageWindow } from "./window.ts";

export type KafkaBusOptions = {
  brokers: readonly string[];
  clientId?: string;
  logger?: Logger;
  /**
   * How long the broker waits for a silent consumer before giving its partitions to
   * another (default 30 s, at least the broker's group.min.session.timeout.ms, 6 s).
   */
  sessionTimeoutMs?: number;
  /** Counts messages consumed and dead-lettered. */
  metrics?: Metrics;
  /**
   * Bytes a produce request carries at most (default MAX_MESSAGE_BYTES, under the
   * broker's message.max.bytes of 1 MiB): kafkajs puts a partition's messages in one
   * record batch, which the broker refuses whole when it is over its limit.
   */
  maxRequestBytes?: number;
};

// Retries are bounded on purpose (see the producer); the warning that this weakens
// exactly-once does not apply to a bus whose consumers dedupe.
const BOUNDED_RETRIES_WARNING = /^Limiting retries for the idempotent producer/;

const toLogger = (logger: Logger) => () => ({ level, log }: LogEntry) => {
  const { message, ...fields } = log;
  if (BOUNDED_RETRIES_WARNING.test(message)) return;
  if (level === logLevel.ERROR) logger.error(`kafkajs: ${message}`, fields);
  else if (level === logLevel.WARN) logger.warn(`kafkajs: ${message}`, fields);
  else logger.debug(`kafkajs: ${message}`, fields);
};

const text = (value: IHeaders[string]): string =>
  value === undefined ? "" : Array.isArray(value) ? value.map(String).join(",") : String(value);

/** Consecutive runs of `messages`, each at most `limit` bytes (a larger message alone). */
export const splitByBytes = (
  messages: readonly OutgoingMessage[],
  limit: number,
): OutgoingMessage[][] => {
  const runs: OutgoingMessage[][] = [];
  let run: OutgoingMessage[] = [];
  let size = 0;
  for (const message of messages) {
    const bytes = messageBytes(message);
    if (run.length > 0 && size + bytes > limit) {
      runs.push(run);
      run = [];
      size = 0;
    }
    run.push(message);
    size += bytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
};

const byTopic = (messages: readonly OutgoingMessage[]) => {
  const topics = new Map<string, { key: string; value: string; headers?: IHeaders }[]>();
  for (const { topic, key, value, headers } of messages) {
    const list = topics.get(topic) ?? [];
    list.push({ key, value, headers });
    topics.set(topic, list);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
};

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

const toIncoming = (
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

export const kafkaBus = (options: KafkaBusOptions): Bus & BusBrowser => {
  const logger = options.logger ?? silentLogger;
  const kafka = new Kafka({
    clientId: options.clientId ?? "nudges",
    brokers: [...options.brokers],
    logLevel: logLevel.INFO,
    logCreator: toLogger(logger),
  });
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const count = outcomeCounter(options.metrics);

  // The idempotent producer with one request in flight: a retried send neither
  // duplicates nor reorders messages. Its retries are bounded (kafkajs' default is
  // forever), so while the broker is away publish() fails after about a minute instead of
  // hanging, and the outbox stops and can be restarted or shut down.
  let producer: Promise<Producer> | undefined;
  const connected = () =>
    producer ??= (async () => {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await p.connect();
      } catch (error) {
        producer = undefined;
        throw error;
      }
      return p;
    })();

  // One request at a time, in order (the producer has one in flight): a key's messages
  // keep their order across requests.
  const maxRequestBytes = options.maxRequestBytes ?? MAX_MESSAGE_BYTES;
  const send = async (messages: readonly OutgoingMessage[]) => {
    const p = await connected();
    for (const run of splitByBytes(messages, maxRequestBytes)) {
      await p.sendBatch({ acks: -1, topicMessages: byTopic(run) });
    }
  };

  const consumers = new Set<Consumer>();
  let closed = false;

  const consume = async (consumeOptions: ConsumeOptions): Promise<Consumer> => {
    if (closed) throw new Error("the bus is closed");
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
          consumers.delete(handle);
        })(),
    };
    consumers.add(handle);
    return handle;
  };

  // Readiness asks the cluster through an admin client of its own, without retries, so a
  // probe of a broker that is away fails fast; a failed client is dropped for a fresh one.
  let admin: Promise<Admin> | undefined;
  const ping = async () => {
    if (closed) throw new Error("the bus is closed");
    const current = admin ??= (async () => {
      const a = kafka.admin({ retry: { retries: 0 } });
      await a.connect();
      return a;
    })();
    try {
      await (await current).describeCluster();
    } catch (error) {
      if (admin === current) admin = undefined;
      current.then((a) => a.disconnect()).catch(() => {});
      throw error;
    }
  };

  const browser = kafkaBrowser(kafka, toIncoming);

  return {
    publish: async (messages) => {
      if (closed) throw new Error("the bus is closed");
      checkOutgoing(messages);
      if (messages.length > 0) await send(messages);
    },
    consume,
    ping,
    ...browser,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      if (producer) await (await producer.catch(() => undefined))?.disconnect();
      if (admin) await (await admin.catch(() => undefined))?.disconnect();
    },
  };
};
