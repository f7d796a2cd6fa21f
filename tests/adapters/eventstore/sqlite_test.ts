import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  NotAnEventStoreFile,
  SCHEMA_VERSION,
  sqliteEventStore,
} from "../../../adapters/eventstore/sqlite.ts";
import type { NewEvent } from "../../../application/event_store.ts";
import { eventStoreContract } from "./event_store_contract.ts";

eventStoreContract("sqliteEventStore", () => {
  const dir = Deno.makeTempDirSync({ prefix: "sqlite_store_" });
  const path = `${dir}/events.sqlite`;
  return {
    open: () => sqliteEventStore(path, { pollMs: 10 }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

const event = (type: string): NewEvent => ({
  type,
  data: { type },
  metadata: {
    eventId: crypto.randomUUID(),
    correlationId: "c",
    causationId: "c",
    cause: { kind: "system", reason: "test" },
  },
});

const inTempDir = async (body: (dir: string) => void | Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_store_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

const listDir = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

const foreignFiles: [string, (path: string) => void][] = [
  ["a text file", (path) => Deno.writeTextFileSync(path, "plans,prices\nbasic,900\n")],
  ["a file shorter than a SQLite header", (path) => Deno.writeTextFileSync(path, "SQLite")],
  ["another application's SQLite database", (path) => {
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)");
    db.exec("INSERT INTO events (body) VALUES ('theirs')");
    db.close();
  }],
  ["another application's SQLite database in WAL mode", (path) => {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA application_id = 7; CREATE TABLE t (x)");
    db.close();
  }],
  ["an empty SQLite database", (path) => {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 3");
    db.close();
  }],
];

for (const [what, write] of foreignFiles) {
  Deno.test(`sqliteEventStore() refuses ${what}, naming it, and leaves it unchanged`, async () => {
    await inTempDir((dir) => {
      const path = `${dir}/events.sqlite`;
      write(path);
      const bytes = Deno.readFileSync(path);
      const files = listDir(dir);
      assert.throws(() => sqliteEventStore(path), (error: unknown) => {
        assert.ok(error instanceof NotAnEventStoreFile);
        assert.match(error.message, new RegExp(`^${path.replaceAll(".", "\\.")} is not`));
        return true;
      });
      assert.deepEqual(Deno.readFileSync(path), bytes, "the file's bytes are unchanged");
      assert.deepEqual(listDir(dir), files, "no file was added beside it");
    });
  });
}

Deno.test("sqliteEventStore() refuses a store of a newer schema and leaves it unchanged", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    await store.append("plan-1", [event("PlanCreated")], "noStream");
    await store.close();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA journal_mode = DELETE; PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const bytes = Deno.readFileSync(path);
    assert.throws(
      () => sqliteEventStore(path),
      NotAnEventStoreFile,
      `schema version ${SCHEMA_VERSION + 1}`,
    );
    assert.deepEqual(Deno.readFileSync(path), bytes);
  });
});

Deno.test("sqliteEventStore() refuses a folder in place of its file", async () => {
  await inTempDir((dir) => {
    Deno.mkdirSync(`${dir}/events.sqlite`);
    assert.throws(() => sqliteEventStore(`${dir}/events.sqlite`), NotAnEventStoreFile, dir);
  });
});

Deno.test("sqliteEventStore() creates its file and a missing DATA_DIR, and reopens it", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/data/nested/events.sqlite`;
    const store = sqliteEventStore(path);
    await store.append("plan-1", [event("PlanCreated")], "noStream");
    await store.close();
    const again = sqliteEventStore(path);
    assert.deepEqual((await again.readStream("plan-1")).map((e) => e.type), ["PlanCreated"]);
    await again.close();
  });
});

Deno.test("sqliteEventStore() takes an empty file left by an interrupted creation", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    Deno.writeFileSync(path, new Uint8Array());
    const store = sqliteEventStore(path);
    await store.append("plan-1", [event("PlanCreated")], "noStream");
    assert.equal((await store.readStream("plan-1")).length, 1);
    await store.close();
  });
});

Deno.test("append() writes a batch whole or not at all", async () => {
  await inTempDir(async (dir) => {
    const store = sqliteEventStore(`${dir}/events.sqlite`);
    try {
      const bad = { ...event("Bad"), data: { amount: 10n } };
      await assert.rejects(store.append("plan-1", [event("Good"), bad], "any"), TypeError);
      assert.deepEqual(await store.readStream("plan-1"), []);
      assert.deepEqual(await store.readAll(), []);
    } finally {
      await store.close();
    }
  });
});

/**
 * Runs `code` in another Deno process, with the store module imported as `sqliteEventStore`.
 * `ready` is the first line it prints; `go()` sends it a line; `exitCode` waits for its end.
 */
const child = (dir: string, code: string, args: string[]) => {
  const module = new URL("../../../adapters/eventstore/sqlite.ts", import.meta.url).href;
  const script = `${dir}/child_${crypto.randomUUID()}.ts`;
  Deno.writeTextFileSync(
    script,
    `import { DatabaseSync } from "node:sqlite";\n` +
      `import { sqliteEventStore } from "${module}";\n${code}\n`,
  );
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-read", "--allow-write", "--allow-env", script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const input = process.stdin.getWriter();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = (async () => {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    return text.split("\n")[0];
  })();
  const go = () => input.write(new TextEncoder().encode("go\n"));
  // Also the clean-up after a failed test: closing stdin lets a child waiting for go end.
  const exitCode = async () => {
    await input.close().catch(() => {});
    await ready;
    while (!(await lines.read()).done);
    return (await process.status).code;
  };
  return { ready, go, exitCode };
};

Deno.test("append() waits for another process's write lock instead of failing", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    await store.append("plan-1", [event("PlanCreated")], "noStream");
    const holder = child(
      dir,
      `const db = new DatabaseSync(Deno.args[0]);
         db.exec("BEGIN IMMEDIATE");
         console.log("locked");
         await new Promise((r) => setTimeout(r, 300));
         db.exec("COMMIT");
         db.close();`,
      [path],
    );
    try {
      assert.equal(await holder.ready, "locked");
      const result = await store.append("plan-1", [event("PlanUpdated")], 0);
      assert.equal(result.nextRevision, 1);
      assert.equal(await holder.exitCode(), 0);
    } finally {
      await holder.exitCode();
      await store.close();
    }
  });
});

Deno.test("two processes appending to one file lose and duplicate nothing", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    const count = 500;
    const writer = child(
      dir,
      `const store = sqliteEventStore(Deno.args[0]);
         console.log("ready");
         await Deno.stdin.readable.getReader().read();
         for (let i = 0; i < ${count}; i++) {
           await store.append("shared", [{ type: "ByChild", data: { i },
             metadata: { eventId: "c" + i, correlationId: "c", causationId: "c",
               cause: { kind: "system", reason: "test" } } }], "any");
           await store.append("child-" + i, [{ type: "Own", data: {},
             metadata: { eventId: "o" + i, correlationId: "c", causationId: "c",
               cause: { kind: "system", reason: "test" } } }], "noStream");
         }
         await store.close();`,
      [path],
    );
    try {
      assert.equal(await writer.ready, "ready");
      // Both start at once, so their appends overlap.
      await writer.go();
      for (let i = 0; i < count; i++) {
        await store.append("shared", [{ ...event("ByParent"), data: { i } }], "any");
      }
      assert.equal(await writer.exitCode(), 0, "the other process finished its appends");

      const shared = await store.readStream("shared");
      assert.deepEqual(shared.map((e) => e.revision), [...Array(2 * count).keys()]);
      for (const type of ["ByParent", "ByChild"]) {
        const is = shared.filter((e) => e.type === type).map((e) => (e.data as { i: number }).i);
        assert.deepEqual(is, [...Array(count).keys()], `${type}: each once, in order`);
      }
      const all = await store.readAll({ limit: 10 * count });
      assert.equal(all.length, 3 * count);
      assert.ok(all.every((e, i) => i === 0 || e.position > all[i - 1]!.position));
    } finally {
      await writer.exitCode();
      await store.close();
    }
  });
});
