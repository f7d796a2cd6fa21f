// The EventStoreDB subscription loop against scripted feeds shaped like the client's
// AllStreamSubscription: a Transform that emits "caughtUp" when it processes the server's
// marker, after the events before it went into its buffer — as the client's does.
import assert from "node:assert/strict";
import { followAll } from "../../../adapters/eventstore/esdb_subscription.ts";
import type { RecordedEvent } from "../../../application/ports/event_store.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import { CAUGHT_UP, checkpoints, deferred, resolved, scripted } from "./esdb_feeds.ts";

Deno.test("subscribeAll() reports caught up only after the events before it are handled", async () => {
  const { connect, feeds } = scripted([resolved(10), resolved(20), resolved(30), CAUGHT_UP]);
  const store = checkpoints();
  const handled: number[] = [];
  const caughtUp = deferred<{ position: number; handledBefore: number[] }>();
  const stop = new AbortController();
  const subscription = followAll({ connect, logger: silentLogger, ...store }, {
    subscriberId: "projections",
    signal: stop.signal,
    handler: async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 1)); // a handler slower than the feed
      handled.push(event.position);
    },
    onCaughtUp: (position) => caughtUp.resolve({ position, handledBefore: [...handled] }),
  });
  assert.deepEqual(await caughtUp.promise, { position: 30, handledBefore: [10, 20, 30] });
  assert.equal(store.stored.at(-1), 30, "checkpointed on catching up");
  stop.abort();
  await subscription.done;
  assert.ok(feeds[0]!.unsubscribed);
});

Deno.test("subscribeAll() starts after the stored checkpoint and checkpoints live events", async () => {
  const { connect, subscribedAfter } = scripted([CAUGHT_UP, resolved(510)]);
  const store = checkpoints(500);
  const live = deferred();
  const stop = new AbortController();
  const subscription = followAll({ connect, logger: silentLogger, ...store }, {
    subscriberId: "projections",
    signal: stop.signal,
    handler: () => {},
    onCaughtUp: () => {},
  });
  const wait = setInterval(() => store.stored.includes(510) && live.resolve(), 1);
  await live.promise;
  clearInterval(wait);
  assert.deepEqual(subscribedAfter, [500]);
  stop.abort();
  await subscription.done;
});

Deno.test("subscribeAll() reconnects after a dropped connection and resumes after the last handled event", async () => {
  const { connect, subscribedAfter, closedSessions } = scripted(
    [resolved(10), resolved(20), new Error("14 UNAVAILABLE: connection reset")],
    [resolved(20), resolved(30), CAUGHT_UP], // a server may send an event again
  );
  const store = checkpoints();
  const handled: number[] = [];
  const caughtUp = deferred();
  const stop = new AbortController();
  const subscription = followAll({ connect, logger: silentLogger, backoff: () => 0, ...store }, {
    subscriberId: "projections",
    signal: stop.signal,
    handler: (event) => void handled.push(event.position),
    onCaughtUp: () => caughtUp.resolve(),
  });
  await caughtUp.promise;
  assert.deepEqual(handled, [10, 20, 30], "each event once");
  assert.deepEqual(subscribedAfter, [0, 20]);
  stop.abort();
  await subscription.done;
  assert.equal(closedSessions(), 2, "every connection is let go");
  assert.equal(store.stored.at(-1), 30);
});

Deno.test("subscribeAll() hands over no system events", async () => {
  const { connect } = scripted([
    resolved(10),
    resolved(20, "$nudges-checkpoint-other", "$nudges.checkpoint"),
    resolved(30, "$$plan-1", "$metadata"),
    resolved(40),
    CAUGHT_UP,
  ]);
  const handled: RecordedEvent[] = [];
  const caughtUp = deferred();
  const stop = new AbortController();
  const subscription = followAll({ connect, logger: silentLogger, ...checkpoints() }, {
    subscriberId: "projections",
    signal: stop.signal,
    handler: (event) => void handled.push(event),
    onCaughtUp: () => caughtUp.resolve(),
  });
  await caughtUp.promise;
  assert.deepEqual(handled.map((e) => e.position), [10, 40]);
  stop.abort();
  await subscription.done;
});

Deno.test("subscribeAll() ends with the handler's error, checkpointed before the failed event", async () => {
  const { connect, closedSessions } = scripted([resolved(10), resolved(20), resolved(30)]);
  const store = checkpoints();
  const failure = new Error("projection broke");
  const subscription = followAll({ connect, logger: silentLogger, ...store }, {
    subscriberId: "projections",
    signal: new AbortController().signal,
    handler: (event) => {
      if (event.position === 20) throw failure;
    },
  });
  await assert.rejects(subscription.done, (error) => error === failure);
  assert.equal(store.stored.at(-1), 10);
  assert.equal(closedSessions(), 1);
});

Deno.test("subscribeAll() retries while the checkpoint cannot be read", async () => {
  const { connect, subscribedAfter } = scripted([CAUGHT_UP]);
  let reads = 0;
  const caughtUp = deferred();
  const stop = new AbortController();
  const subscription = followAll({
    connect,
    logger: silentLogger,
    backoff: () => 0,
    readCheckpoint: () =>
      ++reads < 3 ? Promise.reject(new Error("unavailable")) : Promise.resolve(7),
    storeCheckpoint: () => Promise.resolve(),
  }, {
    subscriberId: "projections",
    signal: stop.signal,
    handler: () => {},
    onCaughtUp: () => caughtUp.resolve(),
  });
  await caughtUp.promise;
  assert.equal(reads, 3);
  assert.deepEqual(subscribedAfter, [7]);
  stop.abort();
  await subscription.done;
});
