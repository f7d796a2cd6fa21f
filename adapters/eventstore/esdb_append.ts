/**
 * Every write of the EventStoreDB store (esdb.ts) goes through here: events, checkpoints and
 * stream metadata. It calls the client's per-call `append` (one gRPC Append call, its own
 * callback and error handler) instead of `appendToStream`, which, on servers of 21.10 and
 * later, sends every append without per-call credentials down one long-lived BatchAppend
 * stream per client whose pending appends sit in ONE map for the whole process
 * (dist/streams/appendToStream/batchAppend.js of @eventstore/db-client 6.2.1): an error on
 * any client's stream (a client disposed after a timeout, a keepalive timeout, a GOAWAY)
 * rejects every other client's pending appends, which the server still commits, and the
 * late reply to one of them then throws inside a gRPC stream listener, which ends the
 * process. tests/adapters/eventstore/esdb_batch_append_test.ts reproduces that and checks
 * the store stays off that path. Reaching into the package's dist/ is pinned to 6.2.1, as
 * deno.json pins it; the successor client fixed the map upstream.
 * @module
 */
import {
  type AppendExpectedRevision,
  type EventData,
  type EventStoreDBClient,
  jsonEvent,
  type JSONType,
} from "@eventstore/db-client";
import { append } from "@eventstore/db-client/dist/streams/appendToStream/append.js";

export type Appended = { revision: bigint; commit?: bigint };

/**
 * The client refused the append because the stream was not at the expected revision, and
 * said so in its answer instead of throwing (its throwOnAppendFailure option off, which
 * clientConnectionString refuses; kept as a second guard).
 */
export class AppendNotApplied extends Error {
  override name = "AppendNotApplied";
  constructor(readonly streamId: string, readonly actual: bigint) {
    super(`EventStoreDB did not append to ${streamId}: it is at revision ${actual}`);
  }
}

/** Appends `events` to `streamId` in one gRPC call of its own. */
export const appendEvents = async (
  client: EventStoreDBClient,
  streamId: string,
  events: EventData[],
  expectedRevision: AppendExpectedRevision,
): Promise<Appended> => {
  // batchAppendSize as appendToStream passes it (only the batch path reads it).
  const options = { expectedRevision, batchAppendSize: 3 * 1024 * 1024 };
  const result = await append.call(client, streamId, events, options);
  if (!result.success) throw new AppendNotApplied(streamId, result.nextExpectedRevision);
  return { revision: result.nextExpectedRevision, commit: result.position?.commit };
};

/** The metadata stream of `streamId`, where the server reads $maxCount, $tb and the rest. */
export const metastreamOf = (streamId: string): string => `$$${streamId}`;

/**
 * Writes `streamId`'s metadata: the whole document, in the server's own names ($maxCount,
 * $tb, …); the latest one is in force.
 */
export const setMetadata = (
  client: EventStoreDBClient,
  streamId: string,
  metadata: Record<string, unknown>,
): Promise<Appended> =>
  appendEvents(
    client,
    metastreamOf(streamId),
    [jsonEvent({ type: "$metadata", data: metadata as JSONType })],
    "any",
  );
