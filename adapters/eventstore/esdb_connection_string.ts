/**
 * EVENTSTORE_CONNECTION_STRING, read the way @eventstore/db-client 6.2.1 reads it
 * (dist/Client/parseConnectionString.js), so that what we pass on, name in messages and
 * mask in logs is what the client will use. The client takes the credentials with
 * /^([^:]+):([^@]+)@/ right after the scheme: the password runs to the next "@" and may hold
 * "/", "?", "&" or "=" (common in base64 secrets), so the hosts and the query start after
 * it, never at the first "/" or "?" of the string. Two spellings the client would get wrong
 * are refused, with a message that echoes nothing: a ":" in the password (the client keeps
 * only what comes before it) and an "@" (the client would dial a host named after the rest
 * of the password). Both work percent-encoded.
 * @module
 */

/** A bad EVENTSTORE_CONNECTION_STRING; the message never repeats the credentials. */
export class EventStoreConnectionStringError extends Error {
  override name = "EventStoreConnectionStringError";
}

const SCHEME = /^(esdb|kurrentdb|kurrent)(\+discover)?:\/\//i;
/** The client's own pattern for `user:password@`. */
const CREDENTIALS = /^([^:]+):([^@]+)@/;

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

export type ConnectionStringParts = {
  /** As the client spells it: esdb or esdb+discover. */
  protocol: "esdb" | "esdb+discover";
  /** `user:password` as written (percent-encoded), when given. */
  credentials?: string;
  /** The password as written, when given. */
  password?: string;
  /** host:port[,host:port…], without a trailing "/". */
  hosts: string;
  /** What follows the "?", or "" when nothing does. */
  query: string;
};

export const splitConnectionString = (raw: string): ConnectionStringParts => {
  const text = raw.trim();
  const scheme = text.match(SCHEME);
  if (!scheme) {
    throw new EventStoreConnectionStringError(
      "EVENTSTORE_CONNECTION_STRING must start with esdb://, kurrentdb:// or kurrent:// " +
        "(each also as …+discover://)",
    );
  }
  let rest = text.slice(scheme[0].length);
  const credentials = rest.match(CREDENTIALS);
  if (credentials) {
    rest = rest.slice(credentials[0].length);
    if (credentials[2]!.includes(":")) {
      throw new EventStoreConnectionStringError(
        'EVENTSTORE_CONNECTION_STRING: the password holds a ":", which the client would cut ' +
          "short; percent-encode it (%3A)",
      );
    }
  }
  const at = rest.indexOf("?");
  const hosts = (at < 0 ? rest : rest.slice(0, at)).replace(/\/+$/, "");
  if (hosts.includes("@")) {
    throw new EventStoreConnectionStringError(
      'EVENTSTORE_CONNECTION_STRING: an "@" in the user name or password must be ' +
        "percent-encoded (%40)",
    );
  }
  return {
    protocol: scheme[2] ? "esdb+discover" : "esdb",
    credentials: credentials ? `${credentials[1]}:${credentials[2]}` : undefined,
    password: credentials?.[2],
    hosts,
    query: at < 0 ? "" : rest.slice(at + 1),
  };
};

/**
 * The connection string in the form @eventstore/db-client parses: the newer kurrentdb:// and
 * kurrent:// schemes (same format) become esdb://, keepalive is set when absent, and options
 * the client would only warn about — printing the whole string, password included — or that
 * would hide a failed append from the store (throwOnAppendFailure=false: a conflict would
 * come back as a success-less answer) are refused here with an error that names the option
 * and nothing else.
 */
export const clientConnectionString = (raw: string): string => {
  const { protocol, credentials, hosts, query } = splitConnectionString(raw);
  const params: [string, string][] = [];
  for (const pair of query === "" ? [] : query.split("&")) {
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
    if (key === "throwOnAppendFailure" && value.toLowerCase() === "false") {
      throw new EventStoreConnectionStringError(
        "EVENTSTORE_CONNECTION_STRING: throwOnAppendFailure=false is not supported; the " +
          "store needs the client to report a conflicting append as an error",
      );
    }
    params.push([key, value]);
  }
  for (const key of ["keepAliveInterval", "keepAliveTimeout"]) {
    if (!params.some(([k]) => k === key)) params.push([key, String(KEEP_ALIVE_MS)]);
  }
  const authority = credentials ? `${credentials}@${hosts}` : hosts;
  return `${protocol}://${authority}?${params.map(([k, v]) => `${k}=${v}`).join("&")}`;
};

/** The hosts of a connection string, for messages: "host:port,host:port", no credentials. */
export const endpointsOf = (raw: string): string => splitConnectionString(raw).hosts || "(no host)";

/**
 * What a log must never show of a connection string: the credentials and the password, as
 * written and as the client decodes them. Never throws: a string the store would refuse is
 * masked all the same.
 */
export const connectionStringSecrets = (raw: string): string[] => {
  const credentials = raw.trim().replace(SCHEME, "").match(CREDENTIALS);
  if (!credentials) return [];
  const password = credentials[2]!;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // a malformed %-escape: the client fails on it too; the written form is masked
  }
  return [`${credentials[1]}:${password}`, password, decoded];
};
