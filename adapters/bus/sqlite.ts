/**
 * The in-process bus: the same contract as Kafka for one machine, with its log and each
 * group's committed offsets in a SQLite file (DATA_DIR), so what the outbox published
 * and checkpointed survives a crash. Each topic is one partition: a total order, which
 * keeps every key's order. So, as with a one-partition Kafka topic, one consumer of a
 * group has a topic at a time; the group's other consumers of it stand by until it
 * stops. A consumer runs up to `concurrency` handlers of different keys at once
 * (window.ts). Publishers in this process wake its consumers at once; those in other
 * processes sharing the file are seen by polling; consumers of one group in two
 * processes are not coordinated.
 *
 * Group commit: the publishes of one turn of the event loop share one transaction, and
 * so do a consumer's offset commits (with the dead-letter copies below them). The fsync
 * runs off the event loop (wal_sync.ts), shared by every transaction committed meanwhile;
 * publish() resolves only after it, so a published message is on disk, as before.
 * The file and the log kept in it are in sqlite_file.ts.
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import type {
  Bus,
  BusBrowser,
  ConsumeOptions,
  Consumer,
  IncomingMessage,
  OutgoingMessage,
} from "../../application/ports/bus.ts";
import { HEADERS } from "../../application/shared/integration_events.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import type { Metrics } from "../../application/ports/metrics.ts";
import { checkOutgoing, deadLetterMessage } from "./messages.ts";
import { deliver, deliveryPolicy, gate, type Outcome, outcomeCounter } from "./delivery.ts";
import { openBusLog } from "./sqlite_file.ts";
import { type Commit, messageWindow } from "./window.ts";

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

export const sqliteBus = (options: SqliteBusOptions): Bus & BusBrowser => {
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
    const log = logger.with({ groupId: options.groupId });
    const policy = deliveryPolicy(options, log);
    const { groupId, topics, handler } = options;
    const me = {};
    const claims = topics.map((topic) => ({ topic, claim: JSON.stringify([groupId, topic]) }));
    /** The topics this consumer has, taking those no other consumer of the group has. */
    const owned = () =>
      claims.filter(({ claim }) => {
        if (!owners.has(claim)) owners.set(claim, me);
        return owners.get(claim) === me;
      }).map(({ topic }) => topic);
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

    // Offset commits: the finished runs the window hands over, written together once per
    // turn of the event loop; on failure they wait for the next turn, merged with newer.
    let unwritten: Commit[] = [];
    let scheduled: ReturnType<typeof setImmediate> | undefined;
    const writeCommits = () => {
      scheduled = undefined;
      const commits = [...unwritten, ...window.commits()];
      unwritten = [];
      if (commits.length === 0) return;
      try {
        file.transaction(() => {
          const letters: OutgoingMessage[] = [];
          const next = new Map<string, number>();
          for (const { topic, nextOffset, settled } of commits) {
            next.set(topic, Number(nextOffset));
            for (const { message, outcome } of settled) {
              if (outcome.kind === "deadLetter") {
                letters.push(deadLetterMessage(message, groupId, outcome));
              }
            }
          }
          file.append(letters);
          for (const [topic, offset] of next) file.commit(groupId, topic, offset);
        });
      } catch (error) {
        log.error("bus offsets not committed, trying again", { error: String(error) });
        unwritten = commits;
        setTimeout(commitSoon, 1000);
        return;
      }
      // On disk soon after, off the event loop; until then a power loss only means the
      // messages come again (the next sync covers these commits too).
      file.sync().catch((error) => log.error("bus offsets not synced", { error: String(error) }));
      for (const { settled } of commits) {
        for (const { message, outcome } of settled) count(outcome, groupId, message.topic);
      }
      if (
        commits.some(({ settled }) => settled.some(({ outcome }) => outcome.kind === "deadLetter"))
      ) {
        wakeConsumers();
      }
    };
    const commitSoon = () => void (scheduled ??= setImmediate(writeCommits));

    const run = async (message: IncomingMessage): Promise<Outcome> => {
      const outcome = await deliver(message, handler, policy, control);
      if (outcome.kind === "deadLetter") {
        log.warn("message dead-lettered", {
          topic: message.topic,
          offset: message.offset,
          correlationId: message.headers[HEADERS.correlationId],
          error: outcome.error,
        });
      }
      return outcome;
    };
    const window = messageWindow({
      concurrency: policy.concurrency,
      gate: control,
      run,
      onSettled: commitSoon,
    });

    const loop = async () => {
      /** The next offset to read, per topic: past what is in hand, ahead of the commit. */
      const positions = new Map<string, number>();
      while (!control.stopping.aborted) {
        if (control.paused) {
          await control.wait(60_000);
          continue;
        }
        try {
          const from = owned().map((topic) => {
            if (!positions.has(topic)) positions.set(topic, file.committed(groupId, topic));
            return { topic, from: positions.get(topic)! };
          });
          const batch = file.fetch(from);
          if (batch.length === 0) {
            await idle();
            continue;
          }
          for (const message of batch) {
            if (!await window.admit(message)) break;
            positions.set(message.topic, Number(message.offset) + 1);
          }
        } catch (error) {
          // The store failed (disk full, locked too long): read again from the last
          // commit after a pause instead of dying; what is in hand finishes first.
          log.error("bus consumer failed, retrying", { error: String(error) });
          await window.drained();
          positions.clear();
          await control.wait(1000);
        }
      }
      await window.drained();
      if (scheduled !== undefined) clearImmediate(scheduled);
      writeCommits();
      await file.sync().catch(() => {});
    };
    const running = loop();

    const consumer: Consumer = {
      pause: () => control.pause(),
      resume: () => control.resume(),
      stop: async () => {
        control.stop();
        wakeConsumers();
        await running;
        for (const { claim } of claims) if (owners.get(claim) === me) owners.delete(claim);
        consumers.delete(consumer);
      },
    };
    consumers.add(consumer);
    return consumer;
  };

  const wakeConsumers = () => {
    for (const wake of [...listeners]) wake();
  };

  // Publishes of one turn of the event loop share a transaction; each resolves after it.
  let queued: { messages: readonly OutgoingMessage[]; done: (error?: unknown) => void }[] = [];
  const writePublishes = () => {
    const group = queued;
    queued = [];
    if (group.length === 0) return;
    try {
      file.transaction(() => group.forEach(({ messages }) => file.append(messages)));
    } catch (error) {
      group.forEach(({ done }) => done(error));
      return;
    }
    // Consumers may start on the messages at once: should the sync fail (or the power go),
    // publish() has not resolved, so the outbox has not moved past them and sends them again.
    wakeConsumers();
    file.sync().then(
      () => group.forEach(({ done }) => done()),
      (error) => group.forEach(({ done }) => done(error)),
    );
  };

  return {
    // The executors turn refusals into rejections, as with Kafka.
    publish: (messages) =>
      new Promise<void>((resolve, reject) => {
        ensureOpen();
        checkOutgoing(messages);
        if (messages.length === 0) return resolve();
        if (queued.length === 0) setImmediate(writePublishes);
        queued.push({ messages, done: (error) => error === undefined ? resolve() : reject(error) });
      }),
    consume: (options) => new Promise<Consumer>((resolve) => resolve(start(options))),
    ping: () =>
      new Promise<void>((resolve) => {
        ensureOpen();
        file.ping();
        resolve();
      }),
    topics: () => new Promise<string[]>((resolve) => (ensureOpen(), resolve(file.topics()))),
    read: (topic) =>
      new Promise<IncomingMessage[]>((resolve) => (ensureOpen(), resolve(file.read(topic)))),
    close: async () => {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      if (queued.length > 0) writePublishes();
      closed = true;
      await file.sync().catch(() => {});
      await file.close();
    },
  };
};
