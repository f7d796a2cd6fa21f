// The EventStoreDB adapter's translations, without a server.
import assert from "node:assert/strict";
import {
  ANY,
  NO_STREAM,
  type ResolvedEvent,
  START,
  STREAM_EXISTS,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import {
  backoffMs,
  isSystemEvent,
  toEventData,
  toExpectedRevision,
  toPosition,
  toReadPosition,
  toRecordedEvent,
  toWrongExpectedRevision,
} from "../../../adapters/eventstore/esdb_mapping.ts";
import {
  type EventMetadata,
  WrongExpectedRevision,
} from "../../../application/ports/event_store.ts";

const metadata: EventMetadata = {
  eventId: "3f1c1a52-8b8e-4c55-9d55-7a3b8d3b6e01",
  correlationId: "req-7",
  causationId: "evt_1",
  cause: { kind: "stripe", stripeEventId: "evt_1", stripeEventType: "product.updated" },
};

Deno.test("toExpectedRevision() maps the port's revisions onto the client's", () => {
  assert.equal(toExpectedRevision("any"), ANY);
  assert.equal(toExpectedRevision("noStream"), NO_STREAM);
  assert.equal(toExpectedRevision("exists"), STREAM_EXISTS);
  assert.equal(toExpectedRevision(0), 0n);
  assert.equal(toExpectedRevision(41), 41n);
  assert.equal(toExpectedRevision(-1), NO_STREAM, "-1 is a stream with no events");
  for (const bad of [-2, 1.5, Number.NaN, 2 ** 60]) {
    assert.throws(() => toExpectedRevision(bad), {
      name: "RangeError",
      message:
        `expected revision must be "any", "noStream", "exists" or a revision >= 0, got ${bad}`,
    });
  }
});

Deno.test("toWrongExpectedRevision() reports the revision the stream is really at", () => {
  const at = (actualVersion: bigint | typeof NO_STREAM) =>
    toWrongExpectedRevision({ actualVersion }, "plan-1", 3);
  const conflict = at(5n);
  assert.ok(conflict instanceof WrongExpectedRevision);
  assert.deepEqual([conflict.streamId, conflict.expected, conflict.actual], ["plan-1", 3, 5]);
  assert.equal(at(NO_STREAM).actual, "noStream");
  assert.equal(at(-1n).actual, "noStream", "older servers say -1");
  const fromClient = new WrongExpectedVersionError(undefined, {
    streamName: "plan-1",
    expected: 3n,
    current: 7n,
  });
  assert.equal(toWrongExpectedRevision(fromClient, "plan-1", 3).actual, 7);
});

Deno.test("toReadPosition() starts at the beginning for 0, else at that commit position", () => {
  assert.equal(toReadPosition(0), START);
  assert.deepEqual(toReadPosition(1_234_567), { commit: 1_234_567n, prepare: 1_234_567n });
  for (const bad of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1]) {
    assert.throws(() => toReadPosition(bad), RangeError);
  }
});

Deno.test("toPosition() refuses positions a number cannot hold or the server did not give", () => {
  assert.equal(toPosition(4_096n), 4_096);
  assert.equal(toPosition(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  for (const bad of [undefined, 0n, 2n ** 64n - 1n, BigInt(Number.MAX_SAFE_INTEGER) + 1n]) {
    assert.throws(() => toPosition(bad), /no usable \$all position/);
  }
});

Deno.test("isSystemEvent() picks out the server's own streams and event types", () => {
  assert.equal(isSystemEvent("plan-1", "PlanCreated"), false);
  assert.equal(isSystemEvent("$nudges-checkpoint-projections", "$nudges.checkpoint"), true);
  assert.equal(isSystemEvent("$stats-127.0.0.1:2113", "$statsCollected"), true);
  assert.equal(isSystemEvent("$$plan-1", "$metadata"), true);
  assert.equal(isSystemEvent("plan-1", "$>"), true, "a link event");
});

Deno.test("toEventData() keeps the port's metadata and adds the server's correlation names", () => {
  const data = toEventData({ type: "PlanCreated", data: { name: "Gold" }, metadata }, "id-1");
  assert.equal(data.id, "id-1");
  assert.equal(data.type, "PlanCreated");
  assert.equal(data.contentType, "application/json");
  assert.deepEqual(data.data, { name: "Gold" });
  assert.deepEqual(data.metadata, { ...metadata, $correlationId: "req-7", $causationId: "evt_1" });
  assert.equal(toEventData({ type: "Nothing", data: undefined, metadata }, "id-2").data, null);
  assert.throws(
    () => toEventData({ type: "Bad", data: { amount: 1n }, metadata }, "id-3"),
    TypeError,
  );
});

const resolved = (over: Partial<NonNullable<ResolvedEvent["event"]>> = {}): ResolvedEvent => ({
  event: {
    streamId: "plan-1",
    id: "9b2f7d4e-0000-4000-8000-000000000001",
    revision: 2n,
    type: "PlanRenamed",
    data: { name: "Platinum" },
    metadata: { ...metadata, $correlationId: "req-7", $causationId: "evt_1" },
    isJson: true,
    created: new Date("2025-03-04T05:06:07.089Z"),
    position: { commit: 8_192n, prepare: 8_192n },
    ...over,
  } as NonNullable<ResolvedEvent["event"]>,
});

Deno.test("toRecordedEvent() gives back what was appended, at its commit position", () => {
  assert.deepEqual(toRecordedEvent(resolved()), {
    streamId: "plan-1",
    revision: 2,
    position: 8_192,
    type: "PlanRenamed",
    data: { name: "Platinum" },
    metadata,
    recordedAt: "2025-03-04T05:06:07.089Z",
  });
  const fromAll = { ...resolved({ position: undefined }), commitPosition: 9_000n };
  assert.equal(toRecordedEvent(fromAll).position, 9_000);
  assert.throws(() => toRecordedEvent(resolved({ position: undefined })), /\$all position/);
  assert.throws(() => toRecordedEvent({}), /link without its event/);
});

Deno.test("toRecordedEvent() fills in metadata for events written by other tools", () => {
  const bare = toRecordedEvent(resolved({ metadata: undefined }));
  assert.deepEqual(bare.metadata, {
    eventId: "9b2f7d4e-0000-4000-8000-000000000001",
    correlationId: "9b2f7d4e-0000-4000-8000-000000000001",
    causationId: "9b2f7d4e-0000-4000-8000-000000000001",
    cause: { kind: "system", reason: "written to EventStoreDB outside Nudges" },
  });
  const native = toRecordedEvent(
    resolved({ metadata: { $correlationId: "corr-1", $causationId: "cause-1" } }),
  );
  assert.equal(native.metadata.correlationId, "corr-1");
  assert.equal(native.metadata.causationId, "cause-1");
});

Deno.test("backoffMs() grows from the base to the ceiling, with jitter", () => {
  const low = () => 0;
  const high = () => 1;
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffMs(n, {}, high)), [250, 500, 1000, 2000]);
  assert.deepEqual([0, 1, 2].map((n) => backoffMs(n, {}, low)), [125, 250, 500]);
  assert.equal(backoffMs(50, {}, high), 30_000);
  assert.equal(backoffMs(1_000, { baseMs: 10, maxMs: 100 }, low), 50);
});
