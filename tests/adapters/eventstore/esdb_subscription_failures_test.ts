// The EventStoreDB subscription loop when the server answers "no" for good, and when it is
// stopped before it subscribed: scripted feeds (esdb_feeds.ts), errors made by the client's
// own converter from gRPC statuses shaped as the server sends them.
import assert from "node:assert/strict";
import { convertToCommandError } from "@eventstore/db-client/dist/utils/CommandError.js";
import { followAll } from "../../../adapters/eventstore/esdb_subscription.ts";
import { EventStoreUnavailable } from "../../../adapters/eventstore/esdb_connection.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import { checkpoints, deferred, resolved, scripted } from "./esdb_feeds.ts";

/** A gRPC status as grpc-js reports it, through the client's converter. */
const serverSaid = (code: number, details: string, exception?: string) =>
  convertToCommandError(Object.assign(new Error(`${code} ${details}`), {
    code,
    details,
    metadata: { getMap: () => (exception ? { exception } : {}) },
  }));

/** Settles with `promise`, or rejects after `ms` (an unref'd timer: a hang fails the test). */
const within = <T>(promise: Promise<T>, ms: number, what: string) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still pending: ${what}`)), ms);
      Deno.unrefTimer(timer);
    }),
  ]).finally(() => clearTimeout(timer));
};

Deno.test("subscribeAll() fails at once on the server's permanent answers instead of retrying forever", async () => {
  const accessDenied = serverSaid(7, "Access denied", "access-denied");
  const invalidPosition = serverSaid(3, "Trying to read from an invalid position.");
  assert.equal(
    (invalidPosition as { type?: string }).type,
    "unknown",
    "the client leaves it untyped",
  );
  const failures: [string, Error, "feed" | "checkpoint"][] = [
    ["access denied by the feed", accessDenied, "feed"],
    ["an invalid position", invalidPosition, "feed"],
    [
      "access denied to the checkpoint stream",
      new EventStoreUnavailable("store checkpoint failed", { cause: accessDenied }),
      "checkpoint",
    ],
  ];
  for (const [what, failure, where] of failures) {
    const script = where === "feed" ? [resolved(10), failure] : [resolved(10)];
    const { connect: open } = scripted(...Array.from({ length: 5 }, () => script));
    const stop = new AbortController();
    let connects = 0;
    const store = checkpoints();
    const subscription = followAll({
      connect: () => {
        if (++connects === 5) stop.abort(); // a loop that retries is stopped, not hung
        return open();
      },
      logger: silentLogger,
      backoff: () => 0,
      readCheckpoint: store.readCheckpoint,
      storeCheckpoint: where === "checkpoint"
        ? () => Promise.reject(failure)
        : store.storeCheckpoint,
      checkpointEvery: 1,
    }, { subscriberId: "projections", signal: stop.signal, handler: () => {} });
    await assert.rejects(subscription.done, (error) => error === failure, what);
    assert.equal(connects, 1, `${what}: connected ${connects} times`);
  }
});

Deno.test("subscribeAll() aborted while it reads its checkpoint stops without subscribing", async () => {
  const { connect, subscribedAfter, closedSessions } = scripted([]);
  const checkpoint = deferred<number>();
  const stop = new AbortController();
  const subscription = followAll({
    connect,
    logger: silentLogger,
    readCheckpoint: () => checkpoint.promise,
    storeCheckpoint: () => Promise.resolve(),
  }, { subscriberId: "projections", signal: stop.signal, handler: () => {} });
  stop.abort();
  checkpoint.resolve(42);
  await within(subscription.done, 1000, "the subscription's done after an abort");
  assert.deepEqual(subscribedAfter, [], "it subscribed after the abort");
  assert.equal(closedSessions(), 1, "the session is let go");
});
