/**
 * Read-model store in one SQLite file (node:sqlite), one per product API process. The
 * documents of a batch and the checkpoint are written in one transaction, so after a crash
 * the file holds exactly the events up to its checkpoint. The file is disposable: it is
 * rebuilt from the event store when its schema is older than this code's. An exclusive
 * lock keeps a second process from projecting into the same file.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { createOwnerOnlyFile, tightenSqliteFiles } from "../files/owner_only.ts";
import {
  type Change,
  type Checkpoint,
  type Collection,
  COLLECTIONS,
  type Filter,
  FILTER_FIELDS,
  NO_CHECKPOINT,
  type PageRequest,
  PARENT_FIELD,
  parentOf,
  type ReadModelStore,
  type Views,
} from "../../application/ports/read_model.ts";
import { filterColumn, pageQueries } from "./sqlite_pages.ts";

/** "NdgR": marks a SQLite file as a Nudges read model (PRAGMA application_id). */
export const APPLICATION_ID = 0x4e646752;
/** Bump when documents change shape: an older file is then rebuilt, not misread. */
export const SCHEMA_VERSION = 3;

export class ReadModelFileError extends Error {
  override name = "ReadModelFileError";
  constructor(readonly path: string, reason: string) {
    super(`cannot use ${path} as the read model: ${reason}`);
  }
}

export const table = (collection: Collection) => `"rm_${collection}"`;

const schema = () =>
  [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;",
    // seq is first-stored order, the documents' rank (an upsert keeps it): lists and pages
    // come out in event order. Each index ends in seq (SQLite adds the rowid), so a filtered
    // page is one index range.
    ...COLLECTIONS.map((c) =>
      `CREATE TABLE ${table(c)} ` +
      "(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, parent TEXT, doc TEXT NOT NULL);" +
      (PARENT_FIELD[c] ? `CREATE INDEX "rm_${c}_parent" ON ${table(c)} (parent);` : "") +
      FILTER_FIELDS[c].filter((field) => field !== PARENT_FIELD[c]).map((field) =>
        `CREATE INDEX "rm_${c}_${field}" ON ${table(c)} (${filterColumn(c, field)});` +
        // One parent's documents by this field too (a client's subscriptions by status).
        (PARENT_FIELD[c]
          ? `CREATE INDEX "rm_${c}_parent_${field}" ON ${table(c)} (parent, ${
            filterColumn(c, field)
          });`
          : "")
      ).join("")
    ),
    `PRAGMA application_id = ${APPLICATION_ID};`,
    `PRAGMA user_version = ${SCHEMA_VERSION};`,
  ].join("\n");

const pragma = (db: DatabaseSync, name: string): number =>
  Number((db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>)[name]);

const transaction = (db: DatabaseSync, body: () => void) => {
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
};

/** Creates the schema in a new file, or recreates it in a file of an older schema. */
const prepareSchema = (db: DatabaseSync, path: string) => {
  const applicationId = pragma(db, "application_id");
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
    name: string;
  }[];
  if (applicationId === APPLICATION_ID && pragma(db, "user_version") === SCHEMA_VERSION) return;
  if (applicationId !== APPLICATION_ID && (applicationId !== 0 || tables.length > 0)) {
    throw new ReadModelFileError(path, "it is a SQLite database of something else; left unchanged");
  }
  transaction(db, () => {
    for (const { name } of tables) db.exec(`DROP TABLE "${name.replaceAll('"', '""')}"`);
    db.exec(schema());
    db.prepare("INSERT INTO meta (key, value) VALUES ('subscriberId', ?)")
      .run(`product-api-read-model-${crypto.randomUUID()}`);
  });
};

/**
 * Opens (creating when absent) the read model in the SQLite file at `path`. Throws
 * ReadModelFileError when the file belongs to something else or another process has it open.
 */
export const sqliteReadModel = (path: string): ReadModelStore => {
  // Owner-only: the documents hold client emails (adapters/files/owner_only.ts).
  createOwnerOnlyFile(path);
  const db = new DatabaseSync(path);
  try {
    // Exclusive before WAL: the lock is held from the first access until close.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
    // A process crash loses no commit; a power loss may drop the last ones, checkpoint and
    // documents together, which the projection then makes again.
    db.exec("PRAGMA synchronous = NORMAL");
    prepareSchema(db, path);
    transaction(db, () => {}); // takes the exclusive lock now, not at the first commit
  } catch (error) {
    db.close();
    if (error instanceof ReadModelFileError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ReadModelFileError(
      path,
      /locked|busy/i.test(message)
        ? "another process has it open (each product API process needs its own read-model file)"
        : message,
    );
  }
  tightenSqliteFiles(path);

  const each = <T>(make: (c: Collection) => T) =>
    Object.fromEntries(COLLECTIONS.map((c) => [c, make(c)])) as Record<Collection, T>;
  const statements = {
    get: each((c) => db.prepare(`SELECT doc FROM ${table(c)} WHERE id = ?`)),
    all: each((c) => db.prepare(`SELECT doc FROM ${table(c)} ORDER BY seq`)),
    children: each((c) => db.prepare(`SELECT doc FROM ${table(c)} WHERE parent = ? ORDER BY seq`)),
    childrenOf: each((c) =>
      db.prepare(
        `SELECT doc FROM ${table(c)} WHERE parent IN (SELECT value FROM json_each(?)) ORDER BY seq`,
      )
    ),
    getMany: each((c) =>
      db.prepare(`SELECT doc FROM ${table(c)} WHERE id IN (SELECT value FROM json_each(?))`)
    ),
    largestFamily: each((c) =>
      db.prepare(
        `SELECT count(*) AS n FROM ${table(c)} WHERE parent IS NOT NULL ` +
          "GROUP BY parent ORDER BY n DESC LIMIT 1",
      )
    ),
    put: each((c) =>
      db.prepare(
        `INSERT INTO ${table(c)} (id, parent, doc) VALUES (?, ?, ?) ` +
          "ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, doc = excluded.doc",
      )
    ),
    clear: each((c) => db.prepare(`DELETE FROM ${table(c)}`)),
    readMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
    writeMeta: db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
  } satisfies Record<string, StatementSync | Record<Collection, StatementSync>>;

  const pages = pageQueries(db, table);
  const meta = (key: string) =>
    (statements.readMeta.get(key) as { value: string | null } | undefined)?.value ?? null;
  const docs = <C extends Collection>(rows: unknown[]) =>
    (rows as { doc: string }[]).map((row) => JSON.parse(row.doc) as Views[C]);
  const writeCheckpoint = ({ position, eventId, streamId, revision }: Checkpoint) => {
    statements.writeMeta.run("position", String(position));
    statements.writeMeta.run("eventId", eventId);
    statements.writeMeta.run("streamId", streamId ?? null);
    statements.writeMeta.run("revision", revision === undefined ? null : String(revision));
  };
  const readCheckpoint = (): Checkpoint => {
    const [streamId, revision] = [meta("streamId"), meta("revision")];
    return {
      position: Number(meta("position") ?? 0),
      eventId: meta("eventId"),
      ...(streamId === null ? {} : { streamId }),
      ...(revision === null ? {} : { revision: Number(revision) }),
    };
  };

  return {
    subscriberId: meta("subscriberId")!,
    get<C extends Collection>(collection: C, id: string): Views[C] | null {
      const row = statements.get[collection].get(id) as { doc: string } | undefined;
      return row ? JSON.parse(row.doc) : null;
    },
    list: <C extends Collection>(collection: C, parentId?: string) =>
      docs<C>(
        parentId === undefined
          ? statements.all[collection].all()
          : statements.children[collection].all(parentId),
      ),
    page: <C extends Collection>(collection: C, request: PageRequest<C>) =>
      pages.page<C>(collection, request),
    count: <C extends Collection>(collection: C, where?: Filter<C>) =>
      pages.count(collection, where),
    childrenOf: <C extends Collection>(collection: C, parentIds: readonly string[]) =>
      docs<C>(statements.childrenOf[collection].all(JSON.stringify(parentIds))),
    getMany: <C extends Collection>(collection: C, ids: readonly string[]) =>
      docs<C>(statements.getMany[collection].all(JSON.stringify(ids))),
    largestFamily: (collection: Collection) =>
      Number((statements.largestFamily[collection].get() as { n: number } | undefined)?.n ?? 0),
    checkpoint: readCheckpoint,
    commit(changes: readonly Change[], checkpoint: Checkpoint) {
      // Serialised before the transaction: a document JSON cannot hold fails here, not midway.
      const rows = changes.map(({ collection, doc }) =>
        [collection, doc.id, parentOf(collection, doc), JSON.stringify(doc)] as const
      );
      transaction(db, () => {
        for (const [collection, id, parent, doc] of rows) {
          statements.put[collection].run(id, parent, doc);
        }
        writeCheckpoint(checkpoint);
      });
    },
    reset() {
      transaction(db, () => {
        for (const collection of COLLECTIONS) statements.clear[collection].run();
        writeCheckpoint(NO_CHECKPOINT);
      });
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
};
