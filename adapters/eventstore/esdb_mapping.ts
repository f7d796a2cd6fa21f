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

/** A bad EVENTSTORE_CONNECTION_STRING; the message never repeats the credentials. */
export class EventStoreConnectionStringError extends Error {
  override name = "EventStoreConnectionStringError";
}

const SCHEME = /^(esdb|kurrentdb|kurrent)(\+discover)?:\/\//i;

/** The query keys the client understands, by their lower-case spelling. */
const KNOWN_KEYS = new Map(
  [
    "connectionName",
    "defaultDeadline",
    "discoveryInterval",
    "gossipTimeout",
    "keepAliveInterval",
    "keepAliveTimeout",
    "maxDiscoverAttempts",
    "nodePreference",
    "throwOnAppendFailure",
    "tls",
    "tlsCAFile",
    "tlsVerifyCert",
    "userCertFile",
    "userKeyFile",
  ].map((key) => [key.toLowerCase(), key]),
);

/** Keepalive pings keep the HTTP/2 session busy, so no server idles it out (Deno issue 36788). */
export const KEEP_ALIVE_MS = 10_000;

/**
 * The connection string in the form @eventstore/db-client parses: the newer kurrentdb:// and
 * kurrent:// schemes (same format) become esdb://, keepalive is set when absent, and options
 * the client would only warn about — printing the whole string, password included — are
 * refused here with an error that names the option and nothing else.
 */
export const clientConnectionString = (raw: string): string => {
  const text = raw.trim().replace(/\/+$/, "");
  const scheme = text.match(SCHEME);
  if (!scheme) {
    throw new EventStoreConnectionStringError(
      "EVENTSTORE_CONNECTION_STRING must start with esdb://, kurrentdb:// or kurrent:// " +
        "(each also as …+discover://)",
    );
  }
  const rest = text.slice(scheme[0].length);
  const query = rest.indexOf("?");
  const authority = query < 0 ? rest : rest.slice(0, query);
  const params: [string, string][] = [];
  for (const pair of query < 0 ? [] : rest.slice(query + 1).split("&")) {
    const at = pair.indexOf("=");
    const given = at < 0 ? pair : pair.slice(0, at);
    const key = KNOWN_KEYS.get(given.toLowerCase());
    if (!key) {
      throw new EventStoreConnectionStringError(
        `EVENTSTORE_CONNECTION_STRING has an unknown option "${given}"`,
      );
    }
    const value = at < 0 ? "" : pair.slice(at + 1);
    if (key === "tlsVerifyCert" && value.toLowerCase() === "false") {
      throw new EventStoreConnectionStringError(
        "EVENTSTORE_CONNECTION_STRING: tlsVerifyCert=false is not supported by the client; " +
          "give the server's CA with tlsCAFile=<path> instead",
      );
    }
    if (key === "keepAliveInterval" && Number(value) < 0) {
      throw new EventStoreConnectionStringError(
        "EVENTSTORE_CONNECTION_STRING: keepAliveInterval must stay enabled under Deno " +
          "(see docs/eventstoredb.md, Deno issue 36788)",
      );
    }
    params.push([key, value]);
  }
  for (const key of ["keepAliveInterval", "keepAliveTimeout"]) {
    if (!params.some(([k]) => k === key)) params.push([key, String(KEEP_ALIVE_MS)]);
  }
  const protocol = scheme[2] ? "esdb+discover" : "esdb";
  return `${protocol}://${authority}?${params.map(([k, v]) => `${k}=${v}`).join("&")}`;
};

/** The hosts of a connection string, for messages: "host:port,host:port", no credentials. */
export const endpointsOf = (raw: string): string => {
  const rest = raw.trim().replace(SCHEME, "");
  const authority = rest.split(/[?/]/, 1)[0] ?? "";
  return authority.slice(authority.lastIndexOf("@") + 1) || "(no host)";
};

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

/** Exponential backoff with jitter: attempt 0 waits about baseMs, never more than maxMs. */
export const backoffMs = (
  attempt: number,
  { baseMs = 250, maxMs = 30_000 }: { baseMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): number => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
};
