/**
 * Translations between the EventStore port and EventStoreDB/KurrentDB's client types, kept
 * pure so they are tested without a server (tests/adapters/eventstore/esdb_mapping_test.ts).
 *
 * Positions: the port's `position` is one number, EventStoreDB's is a (commit, prepare) pair
 * of byte offsets in its transaction log. Every event appended over gRPC is its own implicit
 * transaction, and for those the server reports commit === prepare === the event's log
 * offset: unique and increasing in $all order. So the port's position is the commit
 * position, and a position n is read back as { commit: n, prepare: n }. It stays below 2^53
 * (8 PiB of log) in practice; a larger one is refused with an error rather than rounded.
 * Events written long ago in explicit TCP-era transactions share a commit position; this
 * adapter does not support them.
 * @module
 */
import {
  ANY,
  type AppendExpectedRevision,
  type EventData,
  jsonEvent,
  type JSONType,
  NO_STREAM,
  type ReadPosition,
  type ResolvedEvent,
  START,
  STREAM_EXISTS,
  type WrongExpectedVersionError,
} from "@eventstore/db-client";
import {
  type EventMetadata,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedRevision,
} from "../../application/ports/event_store.ts";

/** The port's expected revision as the client's; -1 means no stream, like a read of -1 events. */
export const toExpectedRevision = (expected: ExpectedRevision): AppendExpectedRevision => {
  switch (expected) {
    case "any":
      return ANY;
    case "noStream":
      return NO_STREAM;
    case "exists":
      return STREAM_EXISTS;
  }
  if (!Number.isSafeInteger(expected) || expected < -1) {
    throw new RangeError(
      `expected revision must be "any", "noStream", "exists" or a revision >= 0, got ${expected}`,
    );
  }
  return expected === -1 ? NO_STREAM : BigInt(expected);
};

/** The client's conflict as the port's, with the revision the stream is really at. */
export const toWrongExpectedRevision = (
  error: Pick<WrongExpectedVersionError, "actualVersion">,
  streamId: string,
  expected: ExpectedRevision,
): WrongExpectedRevision => {
  const actual = error.actualVersion;
  return new WrongExpectedRevision(
    streamId,
    expected,
    actual === NO_STREAM || actual < 0n ? "noStream" : Number(actual),
  );
};

/** Where to start reading $all so that the first event read is the one at `after` or later. */
export const toReadPosition = (after: number): ReadPosition => {
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new RangeError(`position must be an integer >= 0, got ${after}`);
  }
  return after === 0 ? START : { commit: BigInt(after), prepare: BigInt(after) };
};

/** A commit position as the port's number; refuses the "unknown" marker and unsafe sizes. */
export const toPosition = (commit: bigint | undefined): number => {
  if (commit === undefined || commit <= 0n || commit > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(
      `EventStoreDB gave no usable $all position (${commit}); ` +
        "EventStoreDB 22.6 or later (or KurrentDB) is needed",
    );
  }
  return Number(commit);
};

/** Events the port never shows: EventStoreDB's own ($-types, $-streams, such as checkpoints). */
export const isSystemEvent = (streamId: string, type: string): boolean =>
  streamId.startsWith("$") || type.startsWith("$");

/**
 * The port's event as the client's. `id` is a fresh UUID per append, not metadata.eventId:
 * the server treats a repeated id as an idempotent retry and would answer success where the
 * port promises WrongExpectedRevision. $correlationId and $causationId are the server's own
 * names, so its tooling (and the $by_correlation_id projection) follows the chain too.
 */
export const toEventData = (event: NewEvent, id: string): EventData =>
  jsonEvent({
    id,
    type: event.type,
    // Through JSON here, so data that would not survive it fails before anything is sent.
    data: JSON.parse(JSON.stringify(event.data ?? null)) as JSONType,
    metadata: JSON.parse(JSON.stringify({
      ...event.metadata,
      $correlationId: event.metadata.correlationId,
      $causationId: event.metadata.causationId,
    })),
  });

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) &&
  !(value instanceof Uint8Array);

/**
 * Metadata as the port knows it. Events written by other tools may have none: their server
 * id then stands in for the ids, and the cause says where they came from.
 */
const toMetadata = (raw: unknown, serverId: string): EventMetadata => {
  const given = isRecord(raw) ? raw : {};
  const text = (key: string, fallback: string) =>
    typeof given[key] === "string" ? given[key] as string : fallback;
  const correlationId = text("correlationId", text("$correlationId", serverId));
  return {
    eventId: text("eventId", serverId),
    correlationId,
    causationId: text("causationId", text("$causationId", correlationId)),
    cause: isRecord(given.cause)
      ? given.cause as EventMetadata["cause"]
      : { kind: "system", reason: "written to EventStoreDB outside Nudges" },
  };
};

/** A read or subscribed event as the port's RecordedEvent. */
export const toRecordedEvent = (resolved: ResolvedEvent): RecordedEvent => {
  const event = resolved.event;
  if (!event) throw new Error("EventStoreDB returned a link without its event");
  return {
    streamId: event.streamId,
    revision: Number(event.revision),
    position: toPosition(event.position?.commit ?? resolved.commitPosition),
    type: event.type,
    data: event.data,
    metadata: toMetadata(event.metadata, event.id),
    recordedAt: event.created.toISOString(),
  };
};

/** Answers the client maps to a type of their own that no retry changes. */
const PERMANENT_TYPES = new Set([
  "access-denied",
  "stream-deleted",
  "invalid-argument",
  "maximum-append-size-exceeded",
  "unsupported",
]);
/**
 * gRPC codes the client leaves untyped ("unknown") that no retry changes either:
 * INVALID_ARGUMENT (3: the server's "Trying to read from an invalid position"),
 * PERMISSION_DENIED (7) and UNAUTHENTICATED (16).
 */
const PERMANENT_CODES = new Set([3, 7, 16]);

/**
 * True when `error`, or an error it wraps (EventStoreUnavailable keeps the client's as its
 * cause), is the server's considered answer rather than a connection failure: retrying
 * would only get the same answer, forever.
 */
export const isPermanentAnswer = (error: unknown): boolean => {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    const { type, code, cause } = e as { type?: unknown; code?: unknown; cause?: unknown };
    if (typeof type === "string" && PERMANENT_TYPES.has(type)) return true;
    if (type === "unknown" && typeof code === "number" && PERMANENT_CODES.has(code)) return true;
    e = cause;
  }
  return false;
};

/** Exponential backoff with jitter: attempt 0 waits about baseMs, never more than maxMs. */
export const backoffMs = (
  attempt: number,
  { baseMs = 250, maxMs = 30_000 }: { baseMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): number => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
};
