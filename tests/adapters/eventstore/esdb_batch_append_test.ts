// Why the EventStoreDB store never appends through the client's appendToStream, and that it
// does not: @eventstore/db-client 6.2.1's batch path keeps one map of pending appends for the
// whole process (adapters/eventstore/esdb_append.ts). No server runs here: the library's own
// batchAppend runs over fake gRPC streams, and the store over a fake client whose appends
// answer as the server's would.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { type EventData, jsonEvent } from "@eventstore/db-client";
import { batchAppend } from "@eventstore/db-client/dist/streams/appendToStream/batchAppend.js";
import * as sharedPb from "@eventstore/db-client/generated/shared_pb.js";
import * as streamsPb from "@eventstore/db-client/generated/streams_pb.js";
import { esdbEventStore } from "../../../adapters/eventstore/esdb.ts";
import { systemEvent } from "../../support/new_events.ts";
import { fakeClient } from "./esdb_fake_client.ts";

// The generated protobuf modules are CommonJS that Deno cannot read named exports from.
const { AllStreamPosition } = (sharedPb as unknown as { default: typeof sharedPb }).default;
const { BatchAppendResp } = (streamsPb as unknown as { default: typeof streamsPb }).default;

/** A gRPC duplex stream that records what is written to it. */
class FakeDuplex extends EventEmitter {
  written: { getCorrelationId(): unknown }[] = [];
  write(message: { getCorrelationId(): unknown }) {
    this.written.push(message);
    return true;
  }
}

/** The bits of a client that batchAppend uses, over a gRPC client with one duplex stream. */
const batchingClient = () => {
  const stream = new FakeDuplex();
  const grpc = { batchAppend: () => stream };
  const self = {
    stream,
    throwOnAppendFailure: true,
    callArguments: () => [],
    createDeadline: () => new Date(Date.now() + 10_000),
    GRPCStreamCreator: (
      _: unknown,
      __: string,
      creator: (client: typeof grpc) => FakeDuplex,
      cache: WeakMap<object, FakeDuplex>,
    ) =>
    () => {
      if (!cache.has(grpc)) cache.set(grpc, creator(grpc));
      return Promise.resolve(cache.get(grpc)!);
    },
  };
  return self;
};

const append = (client: ReturnType<typeof batchingClient>, stream: string, events: EventData[]) =>
  (batchAppend as unknown as (...args: unknown[]) => Promise<unknown>).call(
    client,
    stream,
    events,
    {
      expectedRevision: "any",
      batchAppendSize: 3 * 1024 * 1024,
    },
  );

const settledState = async (promise: Promise<unknown>) => {
  const marker = {};
  const result = await Promise.race([
    promise.then(() => "resolved", () => "rejected"),
    new Promise((resolve) => setTimeout(() => resolve(marker), 20)),
  ]);
  return result === marker ? "pending" : result;
};

Deno.test("@eventstore/db-client 6.2.1: one client's batch stream failing fails another client's appends, and its late reply throws", async () => {
  const a = batchingClient();
  const b = batchingClient();
  const appendA = append(a, "stream-a", [jsonEvent({ type: "A", data: {} })]);
  const appendB = append(b, "stream-b", [jsonEvent({ type: "B", data: {} })]);
  appendA.catch(() => {});
  appendB.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(b.stream.written.length, 1, "B's append was sent");
  assert.equal(await settledState(appendB), "pending");

  // Client A is disposed (grpc-js reports a cancelled call as an error on its stream).
  a.stream.emit(
    "error",
    Object.assign(new Error("1 CANCELLED: Cancelled on client"), {
      code: 1,
      details: "Cancelled on client",
    }),
  );
  assert.equal(await settledState(appendB), "rejected", "B's append failed with A's stream");

  // The server committed B's append all the same, and says so: the reply finds no entry.
  const reply = new BatchAppendResp()
    .setCorrelationId(b.stream.written[0]!.getCorrelationId() as never)
    .setSuccess(
      new BatchAppendResp.Success().setCurrentRevision("0")
        .setPosition(new AllStreamPosition().setCommitPosition("100").setPreparePosition("100")),
    );
  assert.throws(() => b.stream.emit("data", reply), TypeError);
});

const event = systemEvent("PlanCreated", { name: "Gold" }, "test");

Deno.test("esdbEventStore() appends events, checkpoints and metadata one call each, never through the batch path", async () => {
  const fake = fakeClient();
  const restore = fake.install();
  const store = esdbEventStore("esdb://127.0.0.1:2113?tls=false");
  try {
    fake.seed("lease-x", 4);
    assert.deepEqual(await store.append("plan-1", [event], "noStream"), {
      nextRevision: 0,
      position: fake.lastCommit(),
    });
    await store.storeCheckpoint("projections", 42);
    await store.truncateBefore("lease-x", 2);
    assert.deepEqual(fake.appended.map(({ stream, types }) => [stream, types]), [
      ["plan-1", ["PlanCreated"]],
      ["$$$nudges-checkpoint-projections", ["$metadata"]],
      ["$nudges-checkpoint-projections", ["$nudges.checkpoint"]],
      ["$$lease-x", ["$metadata"]],
    ]);
    assert.deepEqual(fake.appended[1]!.data, [{ $maxCount: 1 }]);
    assert.deepEqual(fake.appended[3]!.data, [{ $tb: 2 }]);
    assert.equal(fake.batchCalls(), 0, "appendToStream / setStreamMetadata were used");
  } finally {
    await store.close();
    restore();
  }
});
