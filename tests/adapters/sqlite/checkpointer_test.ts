import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { checkpointInBackground } from "../../../adapters/sqlite/checkpointer.ts";

const fill = (db: DatabaseSync, rows: number) => {
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  for (let i = 0; i < rows; i++) {
    db.exec("BEGIN");
    insert.run("x".repeat(1000));
    db.exec("COMMIT");
  }
};

Deno.test("checkpointInBackground() copies the WAL into the database from its own thread, not in the writer's commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-checkpoint-" });
  const path = `${dir}/x.sqlite`;
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT)");
    // First with a worker too slow to act: the commits alone copy nothing.
    const idle = checkpointInBackground(db, path, { intervalMs: 3_600_000 });
    const before = (await Deno.stat(path)).size;
    fill(db, 3000); // some 3 MB: past the 1,000 pages at which SQLite would checkpoint itself
    const written = (await Deno.stat(path)).size;
    const { wal_autocheckpoint: automatic } = db.prepare("PRAGMA wal_autocheckpoint").get() as {
      wal_autocheckpoint: number;
    };
    assert.equal(automatic, 0, "the writer's own checkpoints are off");
    assert.equal(written, before, "no commit copied the WAL into the database");
    await idle.stop();
    // Then the worker at work, with no more commits.
    const checkpoints = checkpointInBackground(db, path, { intervalMs: 20 });
    const deadline = Date.now() + 30_000;
    while ((await Deno.stat(path)).size < 3_000_000 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok((await Deno.stat(path)).size >= 3_000_000, "the worker copied the WAL in");
    await checkpoints.stop();
    assert.equal((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 3000);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpointInBackground() stop() resolves for a file the worker could not open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-checkpoint-" });
  const path = `${dir}/x.sqlite`;
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT)");
    const errors: string[] = [];
    // Gone before the worker opens it: the worker reports that and opens nothing.
    Deno.removeSync(path);
    const checkpoints = checkpointInBackground(db, path, { report: (e) => errors.push(e) });
    const deadline = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.match(errors[0] ?? "", /NotFound|No such file/);
    const stopped = await Promise.race([
      checkpoints.stop().then(() => "stopped"),
      new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5_000)),
    ]);
    assert.equal(stopped, "stopped");
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
