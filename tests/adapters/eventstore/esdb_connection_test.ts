// The EventStoreDB store's client lifecycle (adapters/eventstore/esdb_connection.ts) over a
// fake client (esdb_fake_client.ts): when a client is let go, and never while the library
// still has work in flight on it.
import assert from "node:assert/strict";
import { esdbEventStore, EventStoreUnavailable } from "../../../adapters/eventstore/esdb.ts";
import { systemEvent } from "../../support/new_events.ts";
import { fakeClient } from "./esdb_fake_client.ts";

const event = systemEvent("PlanCreated", { name: "Gold" }, "test");

const CONNECTION = "esdb://127.0.0.1:2113?tls=false";
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("esdbEventStore() lets a client that timed out go only once its append settled", async () => {
  const fake = fakeClient();
  const restore = fake.install();
  const store = esdbEventStore(CONNECTION, { timeoutMs: 10 });
  try {
    fake.hold();
    await assert.rejects(
      () => store.append("plan-1", [event], "noStream"),
      (error: Error) =>
        error instanceof EventStoreUnavailable && /no answer within 10 ms/.test(error.message),
    );
    await tick(20);
    assert.equal(fake.disposed(), 0, "the client was disposed with its append in flight");
    fake.release();
    await tick();
    assert.equal(fake.disposed(), 1, "the client is let go once its append settled");

    // The next call has a client of its own.
    assert.equal((await store.append("plan-2", [event], "noStream")).nextRevision, 0);
    assert.equal(fake.clientsMade(), 2);
  } finally {
    await store.close();
    restore();
  }
});

Deno.test("esdbEventStore() lets an idle client go without waiting for the next call", async () => {
  const fake = fakeClient();
  const restore = fake.install();
  const store = esdbEventStore(CONNECTION, { recycleIdleMs: 10 });
  try {
    await store.append("plan-1", [event], "noStream");
    assert.equal(fake.disposed(), 0);
    await tick(60);
    assert.equal(fake.disposed(), 1, "the idle client is still open");
    assert.equal(fake.clientsMade(), 1, "no call came meanwhile");
    await store.append("plan-1", [event], 0);
    assert.equal(fake.clientsMade(), 2, "the next call opens a fresh one");
  } finally {
    await store.close(); // the op sanitizer fails the test if an idle timer outlives it
    restore();
  }
});

Deno.test("a process holding an idle EventStoreDB store exits by itself", async () => {
  const script = `
    import { esdbEventStore } from ${
    JSON.stringify(new URL("../../../adapters/eventstore/esdb.ts", import.meta.url).href)
  };
    import { fakeClient } from ${
    JSON.stringify(new URL("./esdb_fake_client.ts", import.meta.url).href)
  };
    fakeClient().install();
    const store = esdbEventStore(${JSON.stringify(CONNECTION)}, { recycleIdleMs: 60_000 });
    await store.readStream("plan-1");
    console.log("read");
  `;
  const config = new URL("../../../deno.json", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", "--config", config, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const timer = setTimeout(() => child.kill(), 10_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  assert.equal(new TextDecoder().decode(stdout).trim(), "read", new TextDecoder().decode(stderr));
  assert.equal(code, 0, "the idle timer kept the process alive until it was killed");
});

Deno.test("esdbEventStore().truncateBefore() writes $tb into what metadata the stream has, never lowers it, never past the last event", async () => {
  const fake = fakeClient();
  const restore = fake.install();
  const store = esdbEventStore(CONNECTION);
  try {
    fake.seed("lease-x", 10);
    fake.seed("$$lease-x", 0);
    fake.streams.get("$$lease-x")!.push({
      revision: 0,
      type: "$metadata",
      data: { $maxAge: 60 },
      commit: 1,
    });
    await store.truncateBefore("lease-x", 5);
    await store.truncateBefore("lease-x", 3); // lower: nothing to write
    await assert.rejects(() => store.truncateBefore("lease-x", 10), RangeError);
    await assert.rejects(() => store.truncateBefore("missing", 0), RangeError);
    assert.deepEqual(fake.appended.map(({ stream, data }) => [stream, data]), [
      ["$$lease-x", [{ $maxAge: 60, $tb: 5 }]],
    ]);
  } finally {
    await store.close();
    restore();
  }
});
