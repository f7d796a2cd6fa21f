import assert from "node:assert/strict";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { startSqliteWriter } from "../../../adapters/eventstore/sqlite_writer.ts";
import {
  type RecordedEvent,
  WrongExpectedRevision,
} from "../../../application/ports/event_store.ts";
import { systemEvent } from "../../support/new_events.ts";

const event = (n: number) => systemEvent("Happened", { n }, "writer test");

const inTempDir = async (body: (path: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_writer_" });
  try {
    await body(`${dir}/events.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test("startSqliteWriter() refuses a file that is not an event store, naming it, and leaves it unchanged", async () => {
  await inTempDir(async (path) => {
    Deno.writeTextFileSync(path, "plans,prices\nbasic,900\n");
    await assert.rejects(startSqliteWriter(path), (error: Error) => {
      assert.match(error.message, /events\.sqlite is not a Nudges event store/);
      return true;
    });
    assert.equal(Deno.readTextFileSync(path), "plans,prices\nbasic,900\n");
  });
});

Deno.test("a commit through the writer wakes the subscriptions of every store given a port, with no poll", async () => {
  await inTempDir(async (path) => {
    const writer = await startSqliteWriter(path);
    // An hour between polls: only the writer's news of a commit can wake the subscriber.
    const reader = sqliteEventStore(path, { pollMs: 3_600_000, writer: writer.connect() });
    const appender = sqliteEventStore(path, { pollMs: 3_600_000, writer: writer.connect() });
    const seen: RecordedEvent[] = [];
    const abort = new AbortController();
    let caughtUp!: () => void;
    const live = new Promise<void>((resolve) => caughtUp = resolve);
    let arrived!: () => void;
    const both = new Promise<void>((resolve) => arrived = resolve);
    const subscription = reader.subscribeAll({
      subscriberId: "s",
      signal: abort.signal,
      onCaughtUp: () => caughtUp(),
      handler: (recorded) => {
        seen.push(recorded);
        if (seen.length === 2) arrived();
      },
    });
    try {
      await live;
      await appender.append("a", [event(1)], "noStream");
      await appender.append("a", [event(2)], 0);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        both,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no wake-up within 5 s")), 5000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert.deepEqual(seen.map((recorded) => recorded.data), [{ n: 1 }, { n: 2 }]);
      // Checked by the writer's connection: the refusal crosses back as the store's own error.
      await assert.rejects(reader.append("a", [event(3)], 0), WrongExpectedRevision);
    } finally {
      abort.abort();
      await subscription.done;
      await reader.close();
      await appender.close();
      await writer.close();
    }
  });
});
