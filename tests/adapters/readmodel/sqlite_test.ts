import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ReadModelFileError, sqliteReadModel, table } from "../../../adapters/readmodel/sqlite.ts";
import { pageSql } from "../../../adapters/readmodel/sqlite_pages.ts";
import {
  type Collection,
  COLLECTIONS,
  type Filter,
  FILTER_FIELDS,
  PARENT_FIELD,
  type PlanView,
} from "../../../application/ports/read_model.ts";
import { readModelContract } from "./read_model_contract.ts";

readModelContract("sqliteReadModel", () => {
  const dir = Deno.makeTempDirSync({ prefix: "read_model_" });
  const store = sqliteReadModel(`${dir}/read_model.sqlite`);
  return {
    ...store,
    close() {
      store.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
});

const inTempDir = (body: (dir: string) => void) => {
  const dir = Deno.makeTempDirSync({ prefix: "read_model_" });
  try {
    body(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
};

const plan = (id: string) => ({ id, name: id, version: 0 }) as unknown as PlanView;

Deno.test("sqliteReadModel() keeps documents, checkpoint and subscriber id across reopening", () =>
  inTempDir((dir) => {
    const path = `${dir}/nested/read_model.sqlite`;
    const first = sqliteReadModel(path);
    first.commit([{ collection: "plans", doc: plan("p1") }], { position: 5, eventId: "e5" });
    const id = first.subscriberId;
    first.close();

    const again = sqliteReadModel(path);
    try {
      assert.deepEqual(again.get("plans", "p1"), plan("p1"));
      assert.deepEqual(again.checkpoint(), { position: 5, eventId: "e5" });
      assert.equal(again.subscriberId, id);
    } finally {
      again.close();
    }
  }));

Deno.test("sqliteReadModel() refuses a file another store has open", () =>
  inTempDir((dir) => {
    const path = `${dir}/read_model.sqlite`;
    const first = sqliteReadModel(path);
    try {
      assert.throws(() => sqliteReadModel(path), {
        name: "ReadModelFileError",
        message: `cannot use ${path} as the read model: another process has it open ` +
          "(each product API process needs its own read-model file)",
      });
    } finally {
      first.close();
    }
  }));

Deno.test("sqliteReadModel() leaves another application's SQLite file as it was", () =>
  inTempDir((dir) => {
    const path = `${dir}/other.sqlite`;
    const other = new DatabaseSync(path);
    other.exec("CREATE TABLE precious (x); INSERT INTO precious VALUES (42);");
    other.close();
    assert.throws(() => sqliteReadModel(path), (error: unknown) => {
      assert.ok(error instanceof ReadModelFileError);
      assert.equal(error.path, path);
      assert.match(error.message, /: it is a SQLite database of something else; left unchanged$/);
      return true;
    });
    const check = new DatabaseSync(path);
    assert.deepEqual({ ...check.prepare("SELECT x FROM precious").get() }, { x: 42 });
    check.close();
  }));

Deno.test("sqliteReadModel() rebuilds a file of an older schema from checkpoint 0", () =>
  inTempDir((dir) => {
    const path = `${dir}/read_model.sqlite`;
    const first = sqliteReadModel(path);
    first.commit([{ collection: "plans", doc: plan("p1") }], { position: 5, eventId: "e5" });
    first.close();
    const raw = new DatabaseSync(path);
    raw.exec("PRAGMA user_version = 0");
    raw.close();

    const again = sqliteReadModel(path);
    try {
      assert.deepEqual(again.checkpoint(), { position: 0, eventId: null });
      assert.deepEqual(again.list("plans"), []);
    } finally {
      again.close();
    }
  }));

Deno.test("sqliteReadModel() answers every page and count shape from an index, never a scan", () =>
  inTempDir((dir) => {
    const path = `${dir}/read_model.sqlite`;
    sqliteReadModel(path).close();
    const db = new DatabaseSync(path);
    try {
      const shapes: [Collection, Filter<Collection>][] = [];
      for (const collection of COLLECTIONS) {
        const fields = [...FILTER_FIELDS[collection] as readonly string[], PARENT_FIELD[collection]]
          .filter((field): field is string => field !== undefined);
        // Every combination of the collection's filter fields, none included.
        for (let mask = 0; mask < 1 << fields.length; mask++) {
          const where = Object.fromEntries(
            fields.filter((_, i) => mask & (1 << i)).map((field) => [field, "x"]),
          );
          shapes.push([collection, where]);
        }
      }
      for (const [collection, where] of shapes) {
        const { page, count } = pageSql(table(collection), collection, where);
        for (const sql of [page, ...(Object.keys(where).length > 0 ? [count] : [])]) {
          const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all()
            .map((row) => String(row.detail)).join("; ");
          assert.match(plan, /^SEARCH .* USING (COVERING )?(INDEX|INTEGER PRIMARY KEY)/, sql);
          assert.doesNotMatch(plan, /SCAN|TEMP B-TREE/, sql);
        }
      }
      assert.ok(shapes.length >= 9);
    } finally {
      db.close();
    }
  }));
