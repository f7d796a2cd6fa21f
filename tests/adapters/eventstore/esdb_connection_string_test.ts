// EVENTSTORE_CONNECTION_STRING as the client reads it, checked against the client's own
// parser (no server needed).
import assert from "node:assert/strict";
import { parseConnectionString } from "@eventstore/db-client/dist/Client/parseConnectionString.js";
import {
  clientConnectionString,
  connectionStringSecrets,
  endpointsOf,
  EventStoreConnectionStringError,
} from "../../../adapters/eventstore/esdb_connection_string.ts";

Deno.test("clientConnectionString() accepts the kurrentdb:// names and adds keepalive", () => {
  assert.equal(
    clientConnectionString("kurrentdb://admin:changeit@db:2113?tls=false"),
    "esdb://admin:changeit@db:2113?tls=false&keepAliveInterval=10000&keepAliveTimeout=10000",
  );
  assert.equal(
    clientConnectionString(" KurrentDB+discover://db.example.com:2113/ "),
    "esdb+discover://db.example.com:2113?keepAliveInterval=10000&keepAliveTimeout=10000",
  );
  assert.equal(
    clientConnectionString("esdb://a:2113,b:2113?keepaliveinterval=20000&NodePreference=leader"),
    "esdb://a:2113,b:2113?keepAliveInterval=20000&nodePreference=leader&keepAliveTimeout=10000",
  );
});

Deno.test("clientConnectionString() refuses what the client would only warn about, never echoing the password", () => {
  const cases: [string, RegExp][] = [
    ["postgres://u:pw-secret@db", /must start with esdb:\/\//],
    ["esdb://u:pw-secret@db?colour=blue", /unknown option "colour"/],
    ["esdb://u:pw-secret@db?tlsVerifyCert=false", /tlsCAFile/],
    ["esdb://u:pw-secret@db?keepAliveInterval=-1", /keepAliveInterval must stay enabled/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => clientConnectionString(text), (error: Error) => {
      assert.ok(error instanceof EventStoreConnectionStringError);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /pw-secret/);
      return true;
    });
  }
});

Deno.test("endpointsOf() names the hosts without the credentials", () => {
  assert.equal(
    endpointsOf("esdb://admin:p%40ss@node1:2113,node2:2113?tls=false"),
    "node1:2113,node2:2113",
  );
  assert.equal(endpointsOf("kurrentdb+discover://cluster.local:2113/"), "cluster.local:2113");
});

Deno.test("clientConnectionString() passes a password holding / ? & = or %-escapes on whole, and never names it", () => {
  for (const password of ["pa/ss", "pa?ss", "p&w=1", "a%40b", "x/y?z=1&k"]) {
    const raw = `esdb://admin:${password}@db:2113?tls=false`;
    const text = clientConnectionString(raw);
    const parsed = parseConnectionString(text);
    assert.equal(parsed.defaultCredentials?.password, decodeURIComponent(password), password);
    assert.equal(parsed.defaultCredentials?.username, "admin");
    assert.deepEqual(parsed.hosts, [{ address: "db", port: 2113 }], password);
    assert.equal(parsed.tls, false, password);
    assert.equal(endpointsOf(raw), "db:2113", password);
    assert.ok(connectionStringSecrets(raw).includes(password), password);
  }
});

Deno.test("clientConnectionString() refuses a : or @ left unencoded in the password, echoing nothing", () => {
  for (
    const [raw, message] of [
      ["esdb://admin:pa:ss-secret@db:2113", /percent-encode it \(%3A\)/],
      ["esdb://admin:p@ss-secret@db:2113", /must be percent-encoded \(%40\)/],
    ] as const
  ) {
    for (const call of [clientConnectionString, endpointsOf]) {
      assert.throws(() => call(raw), (error: Error) => {
        assert.ok(error instanceof EventStoreConnectionStringError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /ss-secret|pa:|p@/);
        return true;
      });
    }
    assert.ok(connectionStringSecrets(raw).length > 0, "masked all the same");
  }
});

Deno.test("clientConnectionString() refuses throwOnAppendFailure=false, which hides conflicts", () => {
  assert.throws(
    () => clientConnectionString("esdb://h:2113?throwOnAppendFailure=false"),
    (error: Error) =>
      error instanceof EventStoreConnectionStringError &&
      /throwOnAppendFailure/.test(error.message),
  );
  assert.match(
    clientConnectionString("esdb://h:2113?throwOnAppendFailure=true"),
    /throwOnAppendFailure=true/,
  );
});
