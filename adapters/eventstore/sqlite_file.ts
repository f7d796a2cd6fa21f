/**
 * The SQLite file of the event store (sqlite.ts): what a file at a path holds, judged from
 * its header bytes before SQLite opens it; the schema, created in a new file; the checks
 * that an existing file holds this schema's version; and the settings every connection
 * takes (busy timeout, WAL, synchronous=NORMAL).
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { createOwnerOnlyFile, tightenSqliteFiles } from "../files/owner_only.ts";

/** "NdgS": marks a SQLite file as a Nudges event store (PRAGMA application_id). */
export const APPLICATION_ID = 0x4e646753;
/** The schema this code reads and writes (PRAGMA user_version). */
export const SCHEMA_VERSION = 1;

const SQLITE_MAGIC = "SQLite format 3\0";

/** The file at `path` exists but is not an event store this code can open; it was left as it was. */
export class NotAnEventStoreFile extends Error {
  override name = "NotAnEventStoreFile";
  constructor(readonly path: string, reason: string) {
    super(`${path} is not a Nudges event store (${reason}); it was left unchanged`);
  }
}

const SCHEMA = `
  CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (stream_id, revision)
  );
  CREATE TABLE checkpoints (
    subscriber_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL
  ) WITHOUT ROWID;
  PRAGMA application_id = ${APPLICATION_ID};
  PRAGMA user_version = ${SCHEMA_VERSION};
`;

/**
 * What is at `path`, judged from the file's header bytes alone so that a foreign file is
 * never opened by SQLite (which could add -wal/-shm files or roll back a journal in it).
 * Our files get their application id in the creating transaction, before WAL is turned on,
 * so it is always in the main file's header.
 */
const inspect = (path: string): "absent" | "ours" => {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
  if (!info.isFile) throw new NotAnEventStoreFile(path, "it is not a regular file");
  // SQLite writes nothing until the first commit: an empty file is one whose creation
  // was cut short, holding nothing to lose.
  if (info.size === 0) return "absent";
  const header = new Uint8Array(100);
  const file = Deno.openSync(path, { read: true });
  let read = 0;
  try {
    while (read < header.length) {
      const n = file.readSync(header.subarray(read));
      if (n === null) break;
      read += n;
    }
  } finally {
    file.close();
  }
  if (read < header.length || new TextDecoder().decode(header.subarray(0, 16)) !== SQLITE_MAGIC) {
    throw new NotAnEventStoreFile(path, "it is not a SQLite database");
  }
  const applicationId = new DataView(header.buffer).getUint32(68);
  if (applicationId !== APPLICATION_ID) {
    throw new NotAnEventStoreFile(
      path,
      `it is a SQLite database of another application (application_id ${applicationId})`,
    );
  }
  return "ours";
};

const pragma = (db: DatabaseSync, name: string): number =>
  Number((db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>)[name]);

/** Creates our schema in a new file, or checks the one another process created meanwhile. */
const initialise = (db: DatabaseSync, path: string) => {
  db.exec("BEGIN IMMEDIATE");
  try {
    const applicationId = pragma(db, "application_id");
    const tables = Number(
      (db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number }).n,
    );
    if (applicationId === 0 && tables === 0) db.exec(SCHEMA);
    else if (applicationId !== APPLICATION_ID) {
      throw new NotAnEventStoreFile(path, "another program wrote to it while it was being created");
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
};

const checkSchema = (db: DatabaseSync, path: string) => {
  const version = pragma(db, "user_version");
  if (version !== SCHEMA_VERSION) {
    throw new NotAnEventStoreFile(
      path,
      `schema version ${version}; this code reads version ${SCHEMA_VERSION}`,
    );
  }
  const tables = db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'checkpoints')",
  ).all();
  if (tables.length !== 2) throw new NotAnEventStoreFile(path, "its tables are missing");
};

/**
 * Opens the event store's SQLite file at `path`, creating the file (and its folder) with
 * the schema when absent. Throws NotAnEventStoreFile, without touching the file, when it
 * holds anything else.
 */
export const openEventStoreFile = (path: string, busyTimeoutMs: number): DatabaseSync => {
  const found = inspect(path);
  // Created owner-only before SQLite opens it (its -wal and -shm files take its mode); an
  // older file of ours is tightened once checked.
  if (found === "absent") createOwnerOnlyFile(path);
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    if (found === "absent") initialise(db, path);
    checkSchema(db, path);
    tightenSqliteFiles(path);
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL: a commit survives a crash of the process; only a power loss or OS crash can drop
    // the last ones (never corrupting the file). A durable append (the webhook's record) has
    // its transaction committed with FULL instead: sqlite_group_commit.ts.
    db.exec("PRAGMA synchronous = NORMAL");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
};
