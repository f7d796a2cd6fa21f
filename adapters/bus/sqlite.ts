/**
 * The in-process bus: the same contract as Kafka for one machine, with its log and each
 * group's committed offsets in a SQLite file (DATA_DIR), so what the outbox published
 * and checkpointed survives a crash. Each topic is one partition: a total order, which
 * keeps every key's order. So, as with a one-partition Kafka topic, one consumer of a
 * group has a topic at a time; the group's other consumers of it stand by until it
 * stops. Publishers in other processes sharing the file are seen by polling; consumers
 * of one group in two processes are not coordinated.
 * The file and the log kept in it are in sqlite_file.ts.
 * @module
 */
import type {
  Bus,
  ConsumeOptions,
  Consumer,
  IncomingMessage,
} from "../../application/ports/bus.ts";
import { HEADERS } from "../../application/shared/integration_events.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import type { Metrics } from "../../application/ports/metrics.ts";
import { checkOutgoing, deadLetterMessage } from "./messages.ts";
import { deliver, deliveryPolicy, gate, outcomeCounter } from "./delivery.ts";
import { openBusLog } from "./sqlite_file.ts";

export { BUS_APPLICATION_ID } from "./sqlite_file.ts";

export type SqliteBusOptions = {
  /** The SQLite file; ":memory:" for a bus that dies with the process. */
  path: string;
  /** How often consumers look for messages published by other processes (default 100 ms). */
  pollMs?: number;
  /** Messages fetched per read (default 100). */
  fetchSize?: number;
  logger?: Logger;
  /** Counts messages consumed and dead-lettered. */
  metrics?: Metrics;
};

export const sqliteBus = (options: SqliteBusOptions): Bus => {
  const { path, pollMs = 100, fetchSize = 100, logger = silentLogger } = options;
  const file = openBusLog(path, fetchSize);
  const count = outcomeCounter(options.metrics);

  const listeners = new Set<() => void>();
  const consumers = new Set<Consumer>();
  /** [group, topic] → the consumer that has it. */
  const owners = new Map<string, object>();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new Error("the bus is closed");
  };

  const start = (options: ConsumeOptions): Consumer => {
    ensureOpen();
    const policy = deliveryPolicy(options);
    const { groupId, topics, handler } = options;
    const me = {};
    const claims = topics.map((topic) => ({ topic, claim: JSON.stringify([groupId, topic]) }));
    /** The topics this consumer has, taking those no other consumer of the group has. */
    const owned = () =>
      claims.filter(({ claim }) => {
        if (!owners.has(claim)) owners.set(claim, me);
        return owners.get(claim) === me;
      }).map(({ topic }) => topic);
    const log = logger.with({ groupId });
    const control = gate();

    /** Waits for a publish in this process, a poll tick, resume() or stop(). */
    const idle = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          listeners.delete(done);
          resolve();
        };
        listeners.add(done);
        control.wait(pollMs).then(done);
      });

    const settle = (message: IncomingMessage, apply: () => void) => {
      file.transaction(() => {
        apply();
        file.commit(groupId, message.topic, Number(message.offset) + 1);
      });
    };

    const loop = async () => {
      while (!control.stopping.aborted) {
        if (control.paused) {
          await control.wait(60_000);
          continue;
        }
        try {
          const batch = file.nextBatch(groupId, owned());
          if (batch.length === 0) {
            await idle();
            continue;
          }
          for (const message of batch) {
            if (control.stopping.aborted || control.paused) break;
            const outcome = await deliver(message, handler, policy, control);
            if (outcome.kind === "abandoned") break;
            if (outcome.kind === "deadLetter") {
              log.warn("message dead-lettered", {
                topic: message.topic,
                offset: message.offset,
                correlationId: message.headers[HEADERS.correlationId],
                error: outcome.error,
              });
              settle(message, () => file.append([deadLetterMessage(message, groupId, outcome)]));
            } else {
              settle(message, () => {});
            }
            count(outcome, groupId, message.topic);
          }
        } catch (error) {
          // The store failed (disk full, locked too long): nothing was committed, so
          // read again from the last commit after a pause instead of dying.
          log.error("bus consumer failed, retrying", { error: String(error) });
          await control.wait(1000);
        }
      }
    };
    const running = loop();

    const consumer: Consumer = {
      pause: () => control.pause(),
      resume: () => control.resume(),
      stop: async () => {
        control.stop();
        for (const wake of [...listeners]) wake();
        await running;
        for (const { claim } of claims) if (owners.get(claim) === me) owners.delete(claim);
        consumers.delete(consumer);
      },
    };
    consumers.add(consumer);
    return consumer;
  };

  return {
    // The executors turn refusals into rejections, as with Kafka.
    publish: (messages) =>
      new Promise<void>((resolve) => {
        ensureOpen();
        checkOutgoing(messages);
        if (messages.length > 0) {
          file.transaction(() => file.append(messages));
          for (const wake of [...listeners]) wake();
        }
        resolve();
      }),
    consume: (options) => new Promise<Consumer>((resolve) => resolve(start(options))),
    ping: () =>
      new Promise<void>((resolve) => {
        ensureOpen();
        file.ping();
        resolve();
      }),
    close: async () => {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      closed = true;
      file.close();
    },
  };
};
