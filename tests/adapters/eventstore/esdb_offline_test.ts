// The EventStoreDB adapter where no server is needed: bad connection strings, and what the
// store does when nothing answers at the address (the contract suite, esdb_test.ts, needs a
// real server).
import assert from "node:assert/strict";
import { esdbEventStore, EventStoreUnavailable } from "../../../adapters/eventstore/esdb.ts";
import { EventStoreConnectionStringError } from "../../../adapters/eventstore/esdb_connection_string.ts";
import { systemEvent } from "../../support/new_events.ts";
import { type Logger, silentLogger } from "../../../application/ports/logger.ts";
import { freePort } from "../../support/process.ts";

const event = systemEvent("PlanCreated", { name: "Gold" }, "test");

Deno.test("esdbEventStore() refuses a malformed connection string without repeating its password", () => {
  for (
    const text of [
      "esdb://admin:s3cret-pw@localhost:notaport",
      "esdb://admin:s3cret-pw@localhost:2113?tls=maybe",
      "esdb://admin:s3cret-pw@localhost:2113?tlsVerifyCert=false",
      "esdb://admin:s3cret-pw@localhost:2113?colour=blue",
      "esdb://admin:s3cret-pw@localhost:2113?throwOnAppendFailure=false",
      "esdb://admin:s3cret:pw@localhost:2113",
      "http://admin:s3cret-pw@localhost:2113",
    ]
  ) {
    assert.throws(
      () => esdbEventStore(text),
      (error: Error) =>
        error instanceof EventStoreConnectionStringError && !error.message.includes("s3cret"),
      text,
    );
  }
});

Deno.test("esdbEventStore() fails with the connection error, naming the endpoint, when nothing listens", async () => {
  const port = freePort();
  // Far longer than a refused connection takes: if the store hung, the error would say so.
  const store = esdbEventStore(`kurrentdb://admin:s3cret-pw@127.0.0.1:${port}?tls=false`, {
    timeoutMs: 20_000,
  });
  try {
    const calls: [string, () => Promise<unknown>][] = [
      ["append", () => store.append("plan-1", [event], "noStream")],
      ["readStream", () => store.readStream("plan-1")],
      ["readAll", () => store.readAll({ after: 0, limit: 10 })],
      ["readCheckpoint", () => store.readCheckpoint("projections")],
      ["storeCheckpoint", () => store.storeCheckpoint("projections", 10)],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call, (error: Error) => {
        assert.ok(error instanceof EventStoreUnavailable, `${name}: ${error}`);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`), name);
        assert.doesNotMatch(error.message, /no answer within/, `${name} waited for the timeout`);
        assert.doesNotMatch(error.message, /s3cret/, `${name} leaks the password`);
        return true;
      });
    }
  } finally {
    await store.close();
  }
});

Deno.test("esdbEventStore() refuses bad input before it goes to the server", async () => {
  const store = esdbEventStore(`esdb://127.0.0.1:${freePort()}?tls=false`);
  try {
    await assert.rejects(() => store.append("plan-1", [event], -2), RangeError);
    await assert.rejects(() => store.append("plan-1", [event], 1.5), RangeError);
    await assert.rejects(
      () => store.append("plan-1", [{ ...event, data: { amount: 1n } }], "any"),
      TypeError,
    );
    await assert.rejects(() => store.readAll({ after: -1 }), RangeError);
    await assert.rejects(() => store.storeCheckpoint("projections", Number.NaN), RangeError);
  } finally {
    await store.close();
  }
});

Deno.test("subscribeAll() keeps reconnecting while the server is down and stops when aborted", async () => {
  const failures: string[] = [];
  let twice!: () => void;
  const retried = new Promise<void>((resolve) => twice = resolve);
  const logger: Logger = {
    ...silentLogger,
    warn: (message, fields) => {
      failures.push(`${message} ${JSON.stringify(fields)}`);
      if (failures.length === 2) twice();
    },
    with: () => logger,
  };
  const store = esdbEventStore(`esdb://127.0.0.1:${freePort()}?tls=false`, { logger });
  const stop = new AbortController();
  const subscription = store.subscribeAll({
    subscriberId: "projections",
    signal: stop.signal,
    handler: () => assert.fail("no event can arrive"),
  });
  try {
    await retried;
    assert.match(failures[0]!, /reconnecting/);
  } finally {
    stop.abort();
    await subscription.done;
    await store.close();
  }
});
