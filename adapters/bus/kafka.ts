/**
 * The Bus on Apache Kafka through kafkajs. Each consumer (kafka_consumer.ts) runs up to
 * `concurrency` handlers at once across its partitions, never two of one key, and commits
 * offsets by hand, per partition only up to the first message not yet done (handled, or
 * its dead-letter copy written), so a crash at any point redelivers instead of losing, and
 * redelivers at most the messages in hand. Published batches are split so that no
 * request carries more than the broker takes. Reading topics whole: kafka_topics.ts.
 * @module
 */
import {
  type Admin,
  type IHeaders,
  Kafka,
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
  MAX_MESSAGE_BYTES,
  type OutgoingMessage,
} from "../../application/ports/bus.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import type { Metrics } from "../../application/ports/metrics.ts";
import { checkOutgoing, messageBytes } from "./messages.ts";
import { outcomeCounter } from "./delivery.ts";
import { kafkaConsumer, toIncoming } from "./kafka_consumer.ts";
import { kafkaBrowser } from "./kafka_topics.ts";

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
    const consumer = await kafkaConsumer(kafka, consumeOptions, {
      send,
      count,
      logger,
      sessionTimeout,
      onStopped: () => consumers.delete(consumer),
    });
    consumers.add(consumer);
    return consumer;
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
