// The in-process bus: the same contract as Kafka for one machine, with its log and each
// group's committed offsets in a SQLite file (DATA_DIR), so what the outbox published
// and checkpointed survives a crash. Each topic is one partition: a total order, which
// keeps every key's order. So, as with a one-partition Kafka topic, one consumer of a
// group has a topic at a time; the group's other consumers of it stand by until it
// stops. Publishers in other processes sharing the file are seen by polling; consumers
// of one group in two processes are not coordinated.
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import type {
  Bus,
  ConsumeOptions,
  Consumer,
  IncomingMessage,
  OutgoingMessage,
} from "../../application/ports/bus.ts";
import { HEADERS } from "../../application/shared/integration_events.ts";
import { type Logger, silentLogger } from "../../application/ports/logger.ts";
import type { Metrics } from "../../application/ports/metrics.ts";
import { checkOutgoing, deadLetterMessage } from "./messages.ts";
import { deliver, deliveryPolicy, gate, outcomeCounter } from "./delivery.ts";

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

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS bus_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    topic_offset INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    headers TEXT NOT NULL,
    published_at TEXT NOT NULL,
    UNIQUE (topic, topic_offset)
  );
  CREATE TABLE IF NOT EXISTS bus_topics (
    topic TEXT PRIMARY KEY,
    next_offset INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS bus_commits (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic)
  );
`;

/** "NdgB": marks a SQLite file as a Nudges bus (PRAGMA application_id). */
export const BUS_APPLICATION_ID = 0x4e646742;

/** Opens (or creates) the bus file; refuses a file that holds something else, untouched. */
const openBusFile = (path: string): DatabaseSync => {
  const db = new DatabaseSync(path);
  try {
    const { application_id: id } = db.prepare("PRAGMA application_id").get() as {
      application_id: number;
    };
    const others = db.prepare(
      `SELECT name FROM sqlite_schema
       WHERE type = 'table' AND name NOT GLOB 'bus_*' AND name NOT GLOB 'sqlite_*'`,
    ).all() as { name: string }[];
    if (id !== BUS_APPLICATION_ID && (id !== 0 || others.length > 0)) {
      throw new Error(
        `it holds ${id !== 0 ? `application id ${id}` : `tables ${others.map((t) => t.name)}`}`,
      );
    }
    // WAL with FULL sync: a published message is on disk before publish() resolves.
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    db.exec(`PRAGMA application_id = ${BUS_APPLICATION_ID}`);
    return db;
  } catch (error) {
    db.close();
    throw new Error(
      `${path} is not a Nudges bus file (${(error as Error).message}); left unchanged`,
    );
  }
};

type Row = {
  id: number;
  topic: string;
  topic_offset: number;
  key: string;
  value: string;
  headers: string;
};

export const sqliteBus = (options: SqliteBusOptions): Bus => {
  const { path, pollMs = 100, fetchSize = 100, logger = silentLogger } = options;
  if (path !== ":memory:") Deno.mkdirSync(dirname(path), { recursive: true });
  const db = openBusFile(path);
  const count = outcomeCounter(options.metrics);

  const nextOffset = db.prepare(
    `INSERT INTO bus_topics (topic, next_offset) VALUES (?, 1)
     ON CONFLICT (topic) DO UPDATE SET next_offset = next_offset + 1
     RETURNING next_offset - 1 AS next`,
  );
  const insert = db.prepare(
    `INSERT INTO bus_messages (topic, topic_offset, key, value, headers, published_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const committed = db.prepare(
    "SELECT next_offset FROM bus_commits WHERE group_id = ? AND topic = ?",
  );
  const fetch = db.prepare(
    `SELECT id, topic, topic_offset, key, value, headers FROM bus_messages
     WHERE topic = ? AND topic_offset >= ? ORDER BY topic_offset LIMIT ?`,
  );
  const commit = db.prepare(
    `INSERT INTO bus_commits (group_id, topic, next_offset) VALUES (?, ?, ?)
     ON CONFLICT (group_id, topic) DO UPDATE SET next_offset = excluded.next_offset`,
  );

  const transaction = <T>(work: () => T): T => {
    db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      db.exec("COMMIT");
      return result;
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  };

  const append = (messages: readonly OutgoingMessage[]) => {
    const now = new Date().toISOString();
    for (const m of messages) {
      const { next } = nextOffset.get(m.topic) as { next: number };
      insert.run(m.topic, next, m.key, m.value, JSON.stringify(m.headers ?? {}), now);
    }
  };

  const listeners = new Set<() => void>();
  const consumers = new Set<Consumer>();
  /** [group, topic] → the consumer that has it. */
  const owners = new Map<string, object>();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new Error("the bus is closed");
  };

  /** The next messages of the group, oldest first across its topics. */
  const nextBatch = (groupId: string, topics: readonly string[]): IncomingMessage[] => {
    const rows: Row[] = [];
    for (const topic of topics) {
      const from = (committed.get(groupId, topic) as { next_offset: number } | undefined)
        ?.next_offset ?? 0;
      rows.push(...(fetch.all(topic, from, fetchSize) as Row[]));
    }
    return rows.sort((a, b) => a.id - b.id).slice(0, fetchSize).map((row) => ({
      topic: row.topic,
      partition: 0,
      offset: String(row.topic_offset),
      key: row.key,
      value: row.value,
      headers: JSON.parse(row.headers),
    }));
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
      transaction(() => {
        apply();
        commit.run(groupId, message.topic, Number(message.offset) + 1);
      });
    };

    const loop = async () => {
      while (!control.stopping.aborted) {
        if (control.paused) {
          await control.wait(60_000);
          continue;
        }
        try {
          const batch = nextBatch(groupId, owned());
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
              settle(message, () => append([deadLetterMessage(message, groupId, outcome)]));
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
          transaction(() => append(messages));
          for (const wake of [...listeners]) wake();
        }
        resolve();
      }),
    consume: (options) => new Promise<Consumer>((resolve) => resolve(start(options))),
    ping: () =>
      new Promise<void>((resolve) => {
        ensureOpen();
        db.prepare("SELECT 1").get();
        resolve();
      }),
    close: async () => {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      closed = true;
      db.close();
    },
  };
};
