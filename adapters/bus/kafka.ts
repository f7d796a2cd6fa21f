/**
 * The Bus on Apache Kafka through kafkajs. Offsets are committed by hand, one message at
 * a time and only after its handler succeeded (or after its dead-letter copy was
 * written), so a crash at any point redelivers instead of losing. Partitions are
 * processed one message at a time, which keeps every key's order.
 * @module
 */
import {
  type Admin,
  type Consumer as KafkaConsumer,
  type IHeaders,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import type {
  Bus,
  ConsumeOptions,
  Consumer,
  OutgoingMessage,
} from "../../application/ports/bus.ts";
import { HEADERS } from "../../application/shared/integration_events.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import type { Metrics } from "../../application/ports/metrics.ts";
import { checkOutgoing, deadLetterMessage } from "./messages.ts";
import { deliver, deliveryPolicy, gate, outcomeCounter } from "./delivery.ts";

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

export const kafkaBus = (options: KafkaBusOptions): Bus => {
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

  const send = async (messages: readonly OutgoingMessage[]) => {
    const p = await connected();
    await p.sendBatch({ acks: -1, topicMessages: byTopic(messages) });
  };

  const consumers = new Set<Consumer>();
  let closed = false;

  const consume = async (consumeOptions: ConsumeOptions): Promise<Consumer> => {
    if (closed) throw new Error("the bus is closed");
    const policy = deliveryPolicy(consumeOptions);
    const { groupId, topics, handler } = consumeOptions;
    const log = logger.with({ groupId });
    const control = gate();
    let inHand: Promise<void> = Promise.resolve();
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
    await consumer.connect();
    try {
      await subscribe(consumer, topics);
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachMessage: ({ topic, partition, message, heartbeat }) => {
          const handled = (async () => {
            const incoming = {
              topic,
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? "",
              value: message.value?.toString() ?? "",
              headers: Object.fromEntries(
                Object.entries(message.headers ?? {}).map(([name, value]) => [name, text(value)]),
              ),
            };
            const outcome = await deliver(incoming, handler, policy, control, heartbeat);
            // Stopping: returning without a commit leaves the message to the next consumer.
            if (outcome.kind === "abandoned") return;
            if (outcome.kind === "deadLetter") {
              log.warn("message dead-lettered", {
                topic,
                partition,
                offset: message.offset,
                correlationId: incoming.headers[HEADERS.correlationId],
                error: outcome.error,
              });
              await send([deadLetterMessage(incoming, groupId, outcome)]);
            }
            const next = (BigInt(message.offset) + 1n).toString();
            await consumer.commitOffsets([{ topic, partition, offset: next }]);
            count(outcome, groupId, topic);
          })();
          inHand = handled.catch(() => {});
          return handled;
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
      // kafkajs refuses commits once its consumer is stopping, so the message in hand
      // finishes and commits first; pausing keeps kafkajs from handing over another.
      stop: () =>
        stopped ??= (async () => {
          control.stop();
          consumer.pause(all);
          await inHand;
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

  return {
    publish: async (messages) => {
      if (closed) throw new Error("the bus is closed");
      checkOutgoing(messages);
      if (messages.length > 0) await send(messages);
    },
    consume,
    ping,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      if (producer) await (await producer.catch(() => undefined))?.disconnect();
      if (admin) await (await admin.catch(() => undefined))?.disconnect();
    },
  };
};
