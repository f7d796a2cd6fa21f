/**
 * The SQLite file under the in-process bus (sqlite.ts): its schema and opening, and the
 * log kept in it: each topic's messages in publishing order with their offsets, and each
 * consumer group's committed offsets. The consumers' loop is in sqlite.ts.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { createOwnerOnlyFile, tightenSqliteFiles } from "../files/owner_only.ts";
import type { IncomingMessage, OutgoingMessage } from "../../application/ports/bus.ts";
import { checkpointInBackground } from "../sqlite/checkpointer.ts";
import { walSync } from "./wal_sync.ts";

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
    // WAL, synced by wal_sync.ts off the event loop rather than by SQLite at each commit:
    // a published message is on disk before publish() resolves all the same.
    const { journal_mode: mode } = db.prepare("PRAGMA journal_mode = WAL").get() as {
      journal_mode: string;
    };
    db.exec(
      `PRAGMA synchronous = ${mode === "wal" ? "NORMAL" : "FULL"}; PRAGMA busy_timeout = 5000;`,
    );
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

/** The bus file's log; every call is synchronous, as node:sqlite is. */
export type BusLog = {
  /** Runs `work` in one write transaction (BEGIN IMMEDIATE), rolled back if it throws. */
  transaction<T>(work: () => T): T;
  /** Appends messages at the end of their topics; call it inside a transaction. */
  append(messages: readonly OutgoingMessage[]): void;
  /** The group's committed offset in `topic`: the offset of the next message to read. */
  committed(groupId: string, topic: string): number;
  /** The messages from each topic's `from` offset on, oldest first across the topics. */
  fetch(positions: readonly { topic: string; from: number }[]): IncomingMessage[];
  /** Commits the group's offset in a topic: the offset of the next message to read. */
  commit(groupId: string, topic: string, nextOffset: number): void;
  /** Every topic with a message, sorted. */
  topics(): string[];
  /** Every message of `topic`, oldest first. */
  read(topic: string): IncomingMessage[];
  /**
   * Resolves once every transaction committed before the call is on disk (the file is in
   * WAL mode with synchronous=NORMAL: commits are durable to a crash of the process at
   * once, to a power loss after this).
   */
  sync(): Promise<void>;
  /** Throws when the file cannot be read. */
  ping(): void;
  close(): Promise<void>;
};

/**
 * Opens (or creates, with its folder) the bus file at `path`; ":memory:" for a bus that
 * dies with the process. `fetchSize`: messages read per nextBatch.
 */
export const openBusLog = (path: string, fetchSize: number): BusLog => {
  // Owner-only: messages carry Stripe payloads and client emails (adapters/files/owner_only.ts).
  if (path !== ":memory:") createOwnerOnlyFile(path);
  const db = openBusFile(path);
  if (path !== ":memory:") tightenSqliteFiles(path);
  const wal = walSync(path);
  const checkpoints = checkpointInBackground(db, path);

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

  const topics = db.prepare("SELECT topic FROM bus_topics ORDER BY topic");
  const all = db.prepare(
    `SELECT id, topic, topic_offset, key, value, headers FROM bus_messages
     WHERE topic = ? ORDER BY topic_offset`,
  );

  const incoming = (row: Row): IncomingMessage => ({
    topic: row.topic,
    partition: 0,
    offset: String(row.topic_offset),
    key: row.key,
    value: row.value,
    headers: JSON.parse(row.headers),
  });

  /** The messages from each topic's `from` on, oldest first across the topics. */
  const fetchFrom = (positions: readonly { topic: string; from: number }[]) => {
    const rows: Row[] = [];
    for (const { topic, from } of positions) {
      rows.push(...(fetch.all(topic, from, fetchSize) as Row[]));
    }
    return rows.sort((a, b) => a.id - b.id).slice(0, fetchSize).map(incoming);
  };

  return {
    transaction,
    append,
    committed: (groupId, topic) =>
      (committed.get(groupId, topic) as { next_offset: number } | undefined)?.next_offset ?? 0,
    fetch: fetchFrom,
    commit: (groupId, topic, next) => {
      commit.run(groupId, topic, next);
    },
    topics: () => (topics.all() as { topic: string }[]).map((row) => row.topic),
    read: (topic) => (all.all(topic) as Row[]).map(incoming),
    ping: () => {
      db.prepare("SELECT 1").get();
    },
    sync: wal.sync,
    close: async () => {
      await checkpoints.stop();
      wal.close();
      db.close();
    },
  };
};
