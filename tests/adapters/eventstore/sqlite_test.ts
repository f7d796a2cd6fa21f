import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  NotAnEventStoreFile,
  SCHEMA_VERSION,
  sqliteEventStore,
} from "../../../adapters/eventstore/sqlite.ts";
import { type NewEvent, WrongExpectedRevision } from "../../../application/ports/event_store.ts";
import { textLines } from "../../support/process.ts";
import { startSqliteWriter } from "../../../adapters/eventstore/sqlite_writer.ts";
import { eventStoreContract } from "./event_store_contract.ts";

eventStoreContract("sqliteEventStore", () => {
  const dir = Deno.makeTempDirSync({ prefix: "sqlite_store_" });
  const path = `${dir}/events.sqlite`;
  return {
    open: () => sqliteEventStore(path, { pollMs: 10 }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

// As `deno task dev` runs it: every instance writes through one writer thread.
eventStoreContract("sqliteEventStore through a writer thread", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_store_" });
  const path = `${dir}/events.sqlite`;
  const writer = await startSqliteWriter(path);
  return {
    open: () => sqliteEventStore(path, { pollMs: 10, writer: writer.connect() }),
    cleanup: async () => {
      await writer.close();
      await Deno.remove(dir, { recursive: true });
    },
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

const typesOf = (events: { type: string }[]) => events.map((e) => e.type);

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
    assert.throws(() => sqliteEventStore(path), {
      name: "NotAnEventStoreFile",
      message: `${path} is not a Nudges event store (schema version ${SCHEMA_VERSION + 1}; ` +
        `this code reads version ${SCHEMA_VERSION}); it was left unchanged`,
    });
    assert.deepEqual(Deno.readFileSync(path), bytes);
  });
});

Deno.test("sqliteEventStore() refuses a folder in place of its file", async () => {
  await inTempDir((dir) => {
    Deno.mkdirSync(`${dir}/events.sqlite`);
    const path = `${dir}/events.sqlite`;
    assert.throws(() => sqliteEventStore(path), {
      name: "NotAnEventStoreFile",
      message: `${path} is not a Nudges event store (it is not a regular file); ` +
        "it was left unchanged",
    });
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
 * `ready` is the first line it prints, `nextLine()` each further one (undefined at its end);
 * `go()` sends it a line; `exitCode` waits for its end.
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
  // A last line without its newline (the child died mid-write) is dropped.
  const lines = textLines(process.stdout, { dropUnfinished: true }).getReader();
  const nextLine = async () => (await lines.read()).value;
  const ready = nextLine();
  const go = () => input.write(new TextEncoder().encode("go\n"));
  // Also the clean-up after a failed test: closing stdin lets a child waiting for go end.
  const exitCode = async () => {
    await input.close().catch(() => {});
    await ready;
    while (!(await lines.read()).done);
    return (await process.status).code;
  };
  return { ready, nextLine, go, exitCode, kill: () => process.kill("SIGKILL") };
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

Deno.test("append() calls made together all fail when the lock is not had in time", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path, { busyTimeoutMs: 50 });
    await store.append("s", [event("A")], "noStream");
    const holder = child(
      dir,
      `const db = new DatabaseSync(Deno.args[0]);
         db.exec("BEGIN IMMEDIATE");
         console.log("locked");
         await Deno.stdin.readable.getReader().read();
         db.exec("COMMIT");
         db.close();`,
      [path],
    );
    try {
      assert.equal(await holder.ready, "locked");
      const settled = await Promise.allSettled([
        store.append("s", [event("B")], 0),
        store.append("t", [event("T")], "noStream"),
      ]);
      for (const outcome of settled) {
        assert.equal(outcome.status, "rejected");
        assert.match(String((outcome as PromiseRejectedResult).reason), /locked/);
      }
      await holder.go();
      assert.equal(await holder.exitCode(), 0);
      assert.deepEqual(typesOf(await store.readAll()), ["A"], "nothing was written");
      assert.equal((await store.append("s", [event("B")], 0)).nextRevision, 1, "and it goes on");
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

// Appends made together share one transaction; these look at what that must not change.

Deno.test("append() calls made together apply in call order, each seeing the ones before", async () => {
  await inTempDir(async (dir) => {
    const store = sqliteEventStore(`${dir}/events.sqlite`);
    try {
      const calls = [
        store.append("s", [event("A")], "noStream"),
        store.append("t", [event("T1"), event("T2")], "noStream"),
        store.append("s", [event("B")], 0),
        store.append("s", [event("Stale")], 0),
        store.append("s", [event("C"), event("D")], "exists"),
        store.append("t", [event("Again")], "noStream"),
        store.append("u", [event("Missing")], 5),
        store.append("s", [event("E")], 3),
        store.append("s", [], 4),
      ];
      const settled = await Promise.allSettled(calls);
      const outcome = (i: number) => {
        const s = settled[i]!;
        if (s.status === "fulfilled") return s.value;
        assert.ok(s.reason instanceof WrongExpectedRevision, String(s.reason));
        return { refused: s.reason.actual };
      };
      assert.deepEqual(settled.map((_, i) => outcome(i)), [
        { nextRevision: 0, position: 1 },
        { nextRevision: 1, position: 3 },
        { nextRevision: 1, position: 4 },
        { refused: 1 },
        { nextRevision: 3, position: 6 },
        { refused: 1 },
        { refused: "noStream" },
        { nextRevision: 4, position: 7 },
        { nextRevision: 4, position: 7 },
      ]);
      const all = await store.readAll();
      assert.deepEqual(all.map((e) => [e.position, e.streamId, e.revision, e.type]), [
        [1, "s", 0, "A"],
        [2, "t", 0, "T1"],
        [3, "t", 1, "T2"],
        [4, "s", 1, "B"],
        [5, "s", 2, "C"],
        [6, "s", 3, "D"],
        [7, "s", 4, "E"],
      ]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("append() that fails midway is undone alone; the appends made with it commit", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    await store.append("setup", [event("Setup")], "noStream");
    // A trigger makes the insert of one event fail after the events before it were written:
    // ABORT undoes that statement only, ROLLBACK the whole transaction.
    const other = new DatabaseSync(path);
    other.exec(`
      CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.type = 'Poison'
        BEGIN SELECT RAISE(ABORT, 'poisoned event'); END;
      CREATE TRIGGER poison_all BEFORE INSERT ON events WHEN NEW.type = 'PoisonAll'
        BEGIN SELECT RAISE(ROLLBACK, 'poisoned transaction'); END;`);
    other.close();
    try {
      const settled = await Promise.allSettled([
        store.append("a", [event("A1")], "noStream"),
        store.append("b", [event("B1"), event("Poison"), event("B3")], "noStream"),
        store.append("b", [event("B-retry")], "noStream"),
        store.append("c", [event("C1"), event("PoisonAll")], "noStream"),
        store.append("a", [event("A2")], 0),
        store.append("c", [event("C-retry")], "noStream"),
      ]);
      assert.deepEqual(settled.map((s) => s.status), [
        "fulfilled",
        "rejected",
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
      ]);
      assert.match(String((settled[1] as PromiseRejectedResult).reason), /poisoned event/);
      assert.match(String((settled[3] as PromiseRejectedResult).reason), /poisoned transaction/);
      assert.deepEqual(
        (await store.readAll()).map((e) => [e.position, e.streamId, e.revision, e.type]),
        [
          [1, "setup", 0, "Setup"],
          [2, "a", 0, "A1"],
          [3, "b", 0, "B-retry"],
          [4, "a", 1, "A2"],
          [5, "c", 0, "C-retry"],
        ],
      );
    } finally {
      await store.close();
    }
  });
});

Deno.test("append() resolves only once another connection can read its events", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    await store.append("setup", [event("Setup")], "noStream");
    const reader = new DatabaseSync(path, { readOnly: true });
    const count = reader.prepare("SELECT count(*) AS n FROM events WHERE stream_id = ?");
    try {
      const seen = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) =>
            store.append(`s${i}`, [event("A"), event("B")], "noStream").then(() =>
              (count.get(`s${i}`) as { n: number }).n
            ),
        ),
      );
      assert.deepEqual(seen, Array(20).fill(2));
    } finally {
      reader.close();
      await store.close();
    }
  });
});

Deno.test("sqliteEventStore() refuses a maxGroup that is not a whole number ≥ 1", async () => {
  await inTempDir((dir) => {
    for (const maxGroup of [0, -1, 2.5, NaN]) {
      assert.throws(() => sqliteEventStore(`${dir}/events.sqlite`, { maxGroup }), {
        name: "RangeError",
        message: `maxGroup must be a whole number of appends, 1 or more; got ${maxGroup}`,
      });
    }
    assert.deepEqual(listDir(dir), [], "no file was made");
  });
});

Deno.test("append() calls beyond maxGroup wait for the next transaction, in order", async () => {
  await inTempDir(async (dir) => {
    const store = sqliteEventStore(`${dir}/events.sqlite`, { maxGroup: 3 });
    try {
      const results = await Promise.all(
        Array.from(
          { length: 10 },
          (_, i) => store.append("s", [event(`E${i}`)], i === 0 ? "noStream" : i - 1),
        ),
      );
      assert.deepEqual(results.map((r) => r.nextRevision), [...Array(10).keys()]);
      assert.deepEqual(
        typesOf(await store.readStream("s")),
        [...Array(10).keys()].map((i) => `E${i}`),
      );
    } finally {
      await store.close();
    }
  });
});

Deno.test("reads see the appends called before them; close() settles the appends made before it", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    const first = store.append("s", [event("A")], "noStream");
    assert.deepEqual(typesOf(await store.readStream("s")), ["A"]);
    await first;
    const settled = Promise.allSettled([
      store.append("s", [event("B")], 0),
      store.append("s", [event("Stale")], 0),
    ]);
    await store.close();
    const [b, stale] = await settled;
    assert.equal(b!.status, "fulfilled");
    assert.ok(stale!.status === "rejected" && stale!.reason instanceof WrongExpectedRevision);
    await assert.rejects(store.append("s", [event("Late")], 1), /closed/);
    const again = sqliteEventStore(path);
    assert.deepEqual(typesOf(await again.readStream("s")), ["A", "B"]);
    await again.close();
  });
});

Deno.test("close() resolves once no connection of its process holds the file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    const store = sqliteEventStore(path);
    await store.append("s", [event("A")], "noStream");
    // The checkpoint worker holds a connection too, once it copied the WAL in: the last
    // connection to close removes the WAL, and a folder removed while the worker still held
    // one could be written to again.
    const modified = () => Deno.statSync(path).mtime?.getTime();
    const written = modified();
    for (let i = 0; i < 500 && modified() === written; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.notEqual(modified(), written, "the worker copied the WAL in");
    assert.ok(listDir(dir).includes("events.sqlite-wal"));
    await store.close();
    assert.deepEqual(listDir(dir), ["events.sqlite"]);
  });
});

Deno.test("a process killed in the middle of a burst of appends loses only unacknowledged ones", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/events.sqlite`;
    // Bursts of 40 appends made together (large, so that the kill likely lands while SQLite
    // writes them), each 3 events to a new stream, and with every tenth
    // one more to a shared stream, each expecting the revision the one before it makes (any
    // failure ends the child). Each append is acknowledged, a line, once its promise resolved.
    const writer = child(
      dir,
      `const store = sqliteEventStore(Deno.args[0]);
         const meta = (id) => ({ eventId: id, correlationId: "c", causationId: "c",
           cause: { kind: "system", reason: "test" } });
         const pad = "x".repeat(2000);
         console.log("ready");
         let shared = -1;
         for (let burst = 0; ; burst++) {
           const calls = [];
           for (let k = 0; k < 40; k++) {
             const id = burst + "-" + k;
             calls.push(store.append("own-" + id, [0, 1, 2].map((n) =>
               ({ type: "Part" + n, data: { id, pad }, metadata: meta(id + "/" + n) })), "noStream")
               .then((r) => console.log(JSON.stringify({ stream: "own-" + id, ...r }))));
             if (k % 10 === 0) {
               const expected = shared < 0 ? "noStream" : shared;
               shared++;
               calls.push(store.append("shared", [{ type: "Shared", data: { id },
                 metadata: meta(id) }], expected).then((r) =>
                   console.log(JSON.stringify({ stream: "shared", id, ...r }))));
             }
           }
           await Promise.all(calls);
         }`,
      [path],
    );
    type Ack = { stream: string; id?: string; nextRevision: number; position: number };
    const acks: Ack[] = [];
    try {
      assert.equal(await writer.ready, "ready");
      while (acks.length < 1_000) {
        const line = await writer.nextLine();
        assert.ok(line !== undefined, "the writer ended before it was killed");
        acks.push(JSON.parse(line));
      }
      // At a moment unrelated to what it prints; everything it printed was acknowledged.
      const killed = new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 30))
        .then(() => writer.kill());
      for (let line; (line = await writer.nextLine()) !== undefined;) acks.push(JSON.parse(line));
      await killed;
    } finally {
      await writer.exitCode();
    }

    const store = sqliteEventStore(path);
    try {
      const all = await store.readAll({ limit: 1_000_000 });
      assert.ok(all.every((e, i) => e.position === i + 1), "positions 1, 2, 3… without a gap");
      const streams = Map.groupBy(all, (e) => e.streamId);
      for (const [stream, events] of streams) {
        assert.deepEqual(events.map((e) => e.revision), [...events.keys()], `${stream}: revisions`);
        if (stream === "shared") continue;
        assert.deepEqual(typesOf(events), ["Part0", "Part1", "Part2"], `${stream} is whole`);
      }
      for (const ack of acks) {
        const events = streams.get(ack.stream) ?? [];
        const last = events.find((e) => e.revision === ack.nextRevision);
        assert.ok(last, `acknowledged ${ack.stream}@${ack.nextRevision} is stored`);
        assert.equal(last.position, ack.position);
        if (ack.id) assert.deepEqual(last.data, { id: ack.id });
      }
      const ownAcked = acks.filter((a) => a.stream !== "shared").length;
      assert.ok(streams.size - 1 >= ownAcked, "at least every acknowledged append is stored");
      console.log(
        acks.length,
        "own acked",
        ownAcked,
        "own stored",
        streams.size - 1,
        "events",
        all.length,
      );
    } finally {
      await store.close();
    }
  });
});
