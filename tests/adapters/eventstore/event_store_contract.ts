// The EventStore contract: every adapter runs these same tests. They share the store with
// earlier runs (EventStoreDB keeps its data), so each test writes to streams of its own
// and looks only at those, and never assumes global positions are contiguous.
import assert from "node:assert/strict";
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedRevision,
} from "../../../application/ports/event_store.ts";

export type StoreFixture = {
  /** A store instance over the fixture's storage; a further call is a second instance over the
   * same storage, as another process or a restart would open it. */
  open(): EventStore | Promise<EventStore>;
  /** Removes what the fixture made, once every instance is closed. */
  cleanup?(): void | Promise<void>;
};

const DEADLINE_MS = 10_000;

const streamName = (what: string) => `contract_${what}-${crypto.randomUUID()}`;

const newEvent = (type: string, data: unknown = {}): NewEvent => {
  const eventId = crypto.randomUUID();
  return {
    type,
    data,
    metadata: {
      eventId,
      correlationId: eventId,
      causationId: eventId,
      cause: { kind: "system", reason: "event store contract test" },
    },
  };
};

/** Resolves when `ready` resolves; fails with `what` if that takes unreasonably long. */
const within = async <T>(ready: Promise<T>, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting: ${what}`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([ready, deadline]);
  } finally {
    clearTimeout(timer);
  }
};

/** A promise with its resolve function, for handlers to signal through. */
const signal = <T = void>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
};

const rejectsWrongRevision = async (
  append: Promise<unknown>,
  expected: { streamId: string; actual: number | "noStream" },
) => {
  const error = await append.then(
    () => assert.fail("the append should have been refused"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof WrongExpectedRevision, `expected WrongExpectedRevision, got ${error}`);
  assert.equal(error.streamId, expected.streamId);
  assert.equal(error.actual, expected.actual);
};

/** Every event after `after` in the given streams, paging through readAll `limit` at a time. */
const readAllOf = async (
  store: EventStore,
  streams: readonly string[],
  after: number,
  limit?: number,
): Promise<RecordedEvent[]> => {
  const found: RecordedEvent[] = [];
  let position = after;
  for (;;) {
    const page = await store.readAll({ after: position, limit });
    if (page.length === 0) return found;
    if (limit !== undefined) assert.ok(page.length <= limit, `a page of ${page.length} > ${limit}`);
    for (const event of page) {
      assert.ok(event.position > position, "readAll goes strictly forward");
      position = event.position;
      if (streams.includes(event.streamId)) found.push(event);
    }
  }
};

export const eventStoreContract = (
  name: string,
  fixture: () => StoreFixture | Promise<StoreFixture>,
  { ignore = false }: { ignore?: boolean } = {},
): void => {
  /** Runs `body` with a fresh fixture, closing every instance it opened and cleaning up. */
  const test = (
    title: string,
    body: (
      open: () => Promise<EventStore>,
      close: (store: EventStore) => Promise<void>,
    ) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name}: ${title}`,
      ignore,
      fn: async () => {
        const made = await fixture();
        const opened = new Set<EventStore>();
        try {
          await body(async () => {
            const store = await made.open();
            opened.add(store);
            return store;
          }, (store) => {
            opened.delete(store);
            return store.close();
          });
        } finally {
          for (const store of opened) await store.close();
          await made.cleanup?.();
        }
      },
    });

  test("append() then readStream() returns the events in order", async (open) => {
    const store = await open();
    const stream = streamName("plan");
    assert.deepEqual(await store.readStream(stream), []);
    const first = await store.append(stream, [newEvent("A", { n: 1 }), newEvent("B")], "noStream");
    assert.equal(first.nextRevision, 1);
    const second = await store.append(stream, [newEvent("C", { n: 3 })], 1);
    assert.equal(second.nextRevision, 2);
    assert.ok(second.position > first.position);

    const events = await store.readStream(stream);
    assert.deepEqual(events.map((e) => [e.streamId, e.revision, e.type, e.data]), [
      [stream, 0, "A", { n: 1 }],
      [stream, 1, "B", {}],
      [stream, 2, "C", { n: 3 }],
    ]);
    assert.ok(events[0]!.position < events[1]!.position);
    assert.equal(events[1]!.position, first.position);
    assert.equal(events[2]!.position, second.position);
    for (const event of events) assert.ok(!Number.isNaN(Date.parse(event.recordedAt)));
  });

  test("data and metadata come back as they were appended", async (open) => {
    const store = await open();
    const stream = streamName("client");
    const data = {
      text: 'Ünïcødé – 日本語 "quoted" \n line',
      amount: 99_999_999,
      ratio: 0.125,
      none: null,
      flags: [true, false],
      nested: { list: [{ id: "price_1" }, { id: "price_2" }], empty: {} },
    };
    const causes = [
      { kind: "graphql", requestId: "req-1", operation: "CreatePlan" },
      { kind: "stripe", stripeEventId: "evt_1", stripeEventType: "product.updated" },
      { kind: "bus", topic: "nudges.plans", partition: 2, offset: "1044", messageId: "m-1" },
      { kind: "system", reason: "replay" },
    ] as const;
    const appended = causes.map((cause, i) => {
      const event = newEvent(`Caused${i}`, { ...data, i });
      return { ...event, metadata: { ...event.metadata, causationId: `cause-${i}`, cause } };
    });
    await store.append(stream, appended, "any");
    const events = await store.readStream(stream);
    assert.deepEqual(events.map((e) => e.data), appended.map((e) => e.data));
    assert.deepEqual(events.map((e) => e.metadata), appended.map((e) => e.metadata));
  });

  test("append() refuses an expected revision the stream is not at", async (open) => {
    const store = await open();
    const fresh = streamName("fresh");
    await rejectsWrongRevision(store.append(fresh, [newEvent("A")], "exists"), {
      streamId: fresh,
      actual: "noStream",
    });
    await rejectsWrongRevision(store.append(fresh, [newEvent("A")], 0), {
      streamId: fresh,
      actual: "noStream",
    });
    assert.deepEqual(await store.readStream(fresh), [], "a refused append writes nothing");

    const stream = streamName("tier");
    await store.append(stream, [newEvent("A"), newEvent("B")], "noStream");
    await rejectsWrongRevision(store.append(stream, [newEvent("X")], "noStream"), {
      streamId: stream,
      actual: 1,
    });
    await rejectsWrongRevision(store.append(stream, [newEvent("X")], 0), {
      streamId: stream,
      actual: 1,
    });
    await rejectsWrongRevision(store.append(stream, [newEvent("X")], 2), {
      streamId: stream,
      actual: 1,
    });
    assert.deepEqual((await store.readStream(stream)).map((e) => e.type), ["A", "B"]);
  });

  test("append() accepts any, exists and the current revision", async (open) => {
    const store = await open();
    const stream = streamName("subscription");
    assert.equal((await store.append(stream, [newEvent("A")], "any")).nextRevision, 0);
    assert.equal((await store.append(stream, [newEvent("B")], "exists")).nextRevision, 1);
    assert.equal((await store.append(stream, [newEvent("C")], 1)).nextRevision, 2);
    assert.equal((await store.append(stream, [newEvent("D")], "any")).nextRevision, 3);
    assert.deepEqual((await store.readStream(stream)).map((e) => e.type), ["A", "B", "C", "D"]);
  });

  test("append() made durable checks and appends as any other", async (open) => {
    const store = await open();
    const stream = streamName("stripeEvent");
    const durable = { durable: true };
    assert.equal(
      (await store.append(stream, [newEvent("A")], "noStream", durable)).nextRevision,
      0,
    );
    await rejectsWrongRevision(store.append(stream, [newEvent("B")], "noStream", durable), {
      streamId: stream,
      actual: 0,
    });
    assert.equal(
      (await store.append(stream, [newEvent("C")], 0, { durable: false })).nextRevision,
      1,
    );
    assert.deepEqual((await store.readStream(stream)).map((e) => e.type), ["A", "C"]);
  });

  test("truncateBefore() drops the first events from reads, keeping true revisions", async (open) => {
    const store = await open();
    const stream = streamName("lease");
    await store.append(stream, ["A", "B", "C", "D", "E"].map((t) => newEvent(t)), "noStream");
    await store.truncateBefore(stream, 3);
    const kept = await store.readStream(stream);
    assert.deepEqual(kept.map((e) => [e.revision, e.type]), [[3, "D"], [4, "E"]]);

    // Appends go on from the stream's last revision, not from the count of events read.
    await rejectsWrongRevision(store.append(stream, [newEvent("X")], 1), {
      streamId: stream,
      actual: 4,
    });
    await rejectsWrongRevision(store.append(stream, [newEvent("X")], "noStream"), {
      streamId: stream,
      actual: 4,
    });
    assert.equal((await store.append(stream, [newEvent("F")], 4)).nextRevision, 5);
    assert.equal((await store.append(stream, [newEvent("G")], "exists")).nextRevision, 6);
    assert.equal((await store.append(stream, [], 6)).nextRevision, 6);

    // Down to the last event: the stream still exists, at its revision.
    await store.truncateBefore(stream, 6);
    assert.deepEqual((await store.readStream(stream)).map((e) => [e.revision, e.type]), [
      [6, "G"],
    ]);
    assert.equal((await store.append(stream, [newEvent("H")], 6)).nextRevision, 7);
    const second = await open();
    assert.deepEqual((await second.readStream(stream)).map((e) => [e.revision, e.type]), [
      [6, "G"],
      [7, "H"],
    ], "a second instance reads the same");
  });

  test("truncateBefore() refuses to drop a stream's last event and never brings events back", async (open) => {
    const store = await open();
    const stream = streamName("lease");
    await store.append(stream, ["A", "B", "C"].map((t) => newEvent(t)), "noStream");
    await assert.rejects(() => store.truncateBefore(stream, 3), RangeError);
    await assert.rejects(() => store.truncateBefore(stream, -1), RangeError);
    await assert.rejects(() => store.truncateBefore(stream, 1.5), RangeError);
    assert.deepEqual((await store.readStream(stream)).map((e) => e.revision), [0, 1, 2]);

    const missing = streamName("missing");
    await assert.rejects(() => store.truncateBefore(missing, 0), RangeError);
    assert.deepEqual(await store.readStream(missing), []);
    assert.equal((await store.append(missing, [newEvent("A")], "noStream")).nextRevision, 0);

    await store.truncateBefore(stream, 2);
    await store.truncateBefore(stream, 0);
    assert.deepEqual((await store.readStream(stream)).map((e) => e.revision), [2]);
  });

  test("two writers at the same expected revision: exactly one wins", async (open) => {
    const [one, two] = [await open(), await open()];
    for (const expected of ["noStream", 0] as const) {
      const stream = streamName("race");
      if (expected === 0) await one.append(stream, [newEvent("Start")], "noStream");
      const results = await Promise.allSettled([
        one.append(stream, [newEvent("ByOne")], expected),
        two.append(stream, [newEvent("ByTwo")], expected),
        one.append(stream, [newEvent("ByOneAgain")], expected),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1, `one writer wins at ${expected}`);
      for (const r of lost) assert.ok(r.reason instanceof WrongExpectedRevision, `${r.reason}`);
      const types = (await two.readStream(stream)).map((e) => e.type);
      assert.equal(types.length, expected === 0 ? 2 : 1, "only the winner's event is written");
    }
  });

  test("many appends at once: exactly the conflicting ones fail, all others are stored", async (open) => {
    const store = await open();
    const marker = await store.append(streamName("marker"), [newEvent("Before")], "any");
    type Call = {
      stream: string;
      types: string[];
      expected: ExpectedRevision;
      /** Whether it must win; "pair": exactly one of the two calls of its pair wins. */
      wins: boolean | "pair";
    };
    const calls: Call[] = [];
    const call = (stream: string, size: number, expected: ExpectedRevision, wins: Call["wins"]) =>
      calls.push({
        stream,
        types: Array.from({ length: size }, (_, i) => `E${calls.length}_${i}`),
        expected,
        wins,
      });
    // Each expectation below holds whatever order the store takes the calls in.
    const existing: [string, number][] = [];
    for (let i = 0; i < 6; i++) {
      const stream = streamName(`existing${i}`);
      const head = i % 3;
      const seed = Array.from({ length: head + 1 }, (_, n) => newEvent(`Seed${n}`));
      await store.append(stream, seed, "noStream");
      existing.push([stream, head]);
    }
    for (let i = 0; i < 6; i++) {
      const fresh = streamName(`fresh${i}`);
      const [stream, head] = existing[i]!;
      const raced = streamName(`raced${i}`);
      call(fresh, 1 + (i % 2), "noStream", true);
      call(fresh, 1, 5, false); // wrong before and after the good one
      call(stream, 2, head, true);
      call(stream, 1, "noStream", false);
      call(stream, 1, head + 7, false);
      call(raced, 1, "noStream", "pair");
      call(raced, 1, "noStream", "pair");
    }
    const anyStream = streamName("any");
    for (let i = 0; i < 5; i++) call(anyStream, 1, "any", true);

    // All in one go, none awaited before the last is made.
    const settled = await Promise.allSettled(
      calls.map((c) => store.append(c.stream, c.types.map((type) => newEvent(type)), c.expected)),
    );

    const won = new Set<number>();
    for (const [i, outcome] of settled.entries()) {
      const c = calls[i]!;
      if (outcome.status === "fulfilled") won.add(i);
      else {
        assert.ok(outcome.reason instanceof WrongExpectedRevision, `call ${i}: ${outcome.reason}`);
        assert.equal(outcome.reason.streamId, c.stream);
      }
      if (c.wins !== "pair") assert.equal(outcome.status === "fulfilled", c.wins, `call ${i}`);
    }
    for (const [i, c] of calls.entries()) {
      if (c.wins === "pair" && calls[i + 1]?.stream === c.stream) {
        assert.equal(Number(won.has(i)) + Number(won.has(i + 1)), 1, `one of ${c.stream} wins`);
      }
    }

    // Every winner is stored whole, at the revisions and position it was told; no loser is.
    const streams = [...new Set(calls.map((c) => c.stream))];
    const stored = new Map<string, RecordedEvent[]>();
    for (const stream of streams) {
      const events = (await store.readStream(stream)).filter((e) => !e.type.startsWith("Seed"));
      stored.set(stream, events);
    }
    for (const i of won) {
      const c = calls[i]!;
      const result = (settled[i] as PromiseFulfilledResult<AppendResult>).value;
      const events = stored.get(c.stream)!.filter((e) => c.types.includes(e.type));
      assert.deepEqual(events.map((e) => e.type), c.types, `call ${i} is stored whole, in order`);
      const first = result.nextRevision - c.types.length + 1;
      assert.deepEqual(events.map((e) => e.revision), c.types.map((_, n) => first + n));
      assert.equal(events.at(-1)!.position, result.position, `call ${i}: its position`);
    }
    const expectedTypes = [...won].flatMap((i) => calls[i]!.types).sort();
    const allStored = [...stored.values()].flat();
    assert.deepEqual(allStored.map((e) => e.type).sort(), expectedTypes, "winners only, once");

    for (const stream of streams) {
      const events = await store.readStream(stream);
      assert.deepEqual(events.map((e) => e.revision), [...events.keys()], `${stream}: no gaps`);
      assert.ok(events.every((e, n) => n === 0 || e.position > events[n - 1]!.position));
    }
    const global = await readAllOf(store, streams, marker.position, 7);
    assert.deepEqual(
      global.map((e) => e.position),
      [...new Set(global.map((e) => e.position))].sort((a, b) => a - b),
      "readAll: every position once, in order",
    );
    assert.equal(global.length, allStored.length + existing.reduce((n, [, h]) => n + h + 1, 0));
  });

  test("readAll() returns every event in global order, page by page", async (open) => {
    const store = await open();
    const [a, b] = [streamName("a"), streamName("b")];
    const before = await store.append(streamName("marker"), [newEvent("Marker")], "any");
    await store.append(a, [newEvent("A1")], "noStream");
    await store.append(b, [newEvent("B1")], "noStream");
    await store.append(a, [newEvent("A2"), newEvent("A3")], 0);
    await store.append(b, [newEvent("B2")], 0);
    const last = await store.append(a, [newEvent("A4")], 2);
    const order = ["A1", "B1", "A2", "A3", "B2", "A4"];

    const all = await readAllOf(store, [a, b], before.position);
    assert.deepEqual(all.map((e) => e.type), order);
    assert.equal(all.at(-1)!.position, last.position);
    assert.deepEqual(
      all.map((e) => [e.streamId, e.revision]),
      [[a, 0], [b, 0], [a, 1], [a, 2], [b, 1], [a, 3]],
    );
    const paged = await readAllOf(store, [a, b], before.position, 2);
    assert.deepEqual(paged, all, "paging gives the same events");
    const later = await readAllOf(store, [a, b], all[2]!.position, 1);
    assert.deepEqual(later.map((e) => e.type), order.slice(3), "reading resumes after a position");
  });

  test("subscribeAll() catches up from its checkpoint, then follows live appends", async (open) => {
    const store = await open();
    const stream = streamName("live");
    const subscriberId = streamName("subscriber");
    assert.equal(await store.readCheckpoint(subscriberId), 0);
    const start = await store.append(streamName("marker"), [newEvent("Before")], "any");
    await store.storeCheckpoint(subscriberId, start.position);
    await store.append(stream, [newEvent("Old1"), newEvent("Old2")], "noStream");

    const seen: string[] = [];
    const caughtUp = signal();
    const sawNew = signal();
    const stop = new AbortController();
    const subscription = store.subscribeAll({
      subscriberId,
      signal: stop.signal,
      handler: (event) => {
        if (event.streamId !== stream) return;
        seen.push(event.type);
        if (seen.length === 4) sawNew.resolve();
      },
      onCaughtUp: () => caughtUp.resolve(),
    });
    try {
      await within(caughtUp.promise, "the subscription to catch up");
      assert.deepEqual(seen, ["Old1", "Old2"]);
      await store.append(stream, [newEvent("New1")], 1);
      const last = await store.append(stream, [newEvent("New2")], 2);
      await within(sawNew.promise, "live events to arrive");
      assert.deepEqual(seen, ["Old1", "Old2", "New1", "New2"]);
      stop.abort();
      await within(subscription.done, "the subscription to stop");
      assert.ok(await store.readCheckpoint(subscriberId) >= last.position);
    } finally {
      stop.abort();
      await subscription.done.catch(() => {});
    }
  });

  test("subscribeAll() resumes after its checkpoint when restarted", async (open, close) => {
    const first = await open();
    const stream = streamName("resume");
    const subscriberId = streamName("subscriber");
    const start = await first.append(streamName("marker"), [newEvent("Before")], "any");
    await first.storeCheckpoint(subscriberId, start.position);
    await first.append(stream, [newEvent("E1"), newEvent("E2")], "noStream");

    const follow = async (store: EventStore) => {
      const seen: string[] = [];
      const caughtUp = signal();
      const stop = new AbortController();
      const subscription = store.subscribeAll({
        subscriberId,
        signal: stop.signal,
        handler: (event) => {
          if (event.streamId === stream) seen.push(event.type);
        },
        onCaughtUp: () => caughtUp.resolve(),
      });
      try {
        await within(caughtUp.promise, "the subscription to catch up");
      } finally {
        stop.abort();
        await within(subscription.done, "the subscription to stop");
      }
      return seen;
    };

    assert.deepEqual(await follow(first), ["E1", "E2"]);
    const last = await first.append(stream, [newEvent("E3")], 1);
    await close(first);

    const second = await open();
    assert.deepEqual(await follow(second), ["E3"], "only what came after the checkpoint");
    assert.ok(await second.readCheckpoint(subscriberId) >= last.position);
  });

  test("subscribeAll() never checkpoints past an event whose handler failed", async (open) => {
    const store = await open();
    const stream = streamName("failing");
    const subscriberId = streamName("subscriber");
    const start = await store.append(streamName("marker"), [newEvent("Before")], "any");
    await store.storeCheckpoint(subscriberId, start.position);
    await store.append(stream, [newEvent("Good"), newEvent("Bad"), newEvent("After")], "noStream");

    const handled: string[] = [];
    let failed = false;
    const allHandled = signal();
    const subscribe = (stop: AbortController) =>
      store.subscribeAll({
        subscriberId,
        signal: stop.signal,
        handler: (event) => {
          if (event.streamId !== stream) return;
          if (event.type === "Bad" && !failed) {
            failed = true;
            throw new Error("handler failed once");
          }
          handled.push(event.type);
          if (event.type === "After") allHandled.resolve();
        },
      });

    const stop = new AbortController();
    const subscription = subscribe(stop);
    // A store may retry the handler itself or end the subscription with the error; either
    // way the failed event must come again, and nothing may be handled twice.
    const ended = subscription.done.then(() => "stopped", () => "failed");
    const outcome = await within(
      Promise.race([ended, allHandled.promise.then(() => "retried")]),
      "the subscription to retry or fail",
    );
    const again = new AbortController();
    try {
      if (outcome === "failed") {
        assert.deepEqual(handled, ["Good"]);
        const position = await store.readCheckpoint(subscriberId);
        const bad = (await store.readStream(stream))[1]!;
        assert.ok(position < bad.position, "the checkpoint stays before the failed event");
        const resumed = subscribe(again);
        await within(allHandled.promise, "the failed event to come again");
        again.abort();
        await within(resumed.done, "the subscription to stop");
      }
      assert.deepEqual(handled, ["Good", "Bad", "After"]);
    } finally {
      stop.abort();
      again.abort();
      await subscription.done.catch(() => {});
    }
  });

  test("readCheckpoint() returns the last stored position, 0 before any", async (open) => {
    const store = await open();
    const subscriberId = streamName("checkpoint");
    assert.equal(await store.readCheckpoint(subscriberId), 0);
    await store.storeCheckpoint(subscriberId, 41);
    await store.storeCheckpoint(subscriberId, 42);
    assert.equal(await store.readCheckpoint(subscriberId), 42);
    assert.equal(
      await (await open()).readCheckpoint(subscriberId),
      42,
      "a second instance sees it",
    );
  });
};
