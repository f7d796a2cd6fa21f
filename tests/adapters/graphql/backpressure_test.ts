import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { TOO_SLOW } from "../../../adapters/graphql/websocket.ts";
import { writer } from "../../application/projections/events.ts";
import { closeOf, type Frame, rawWebSocket, textOf } from "../../support/raw_websocket.ts";
import { deadline } from "../../support/deadline.ts";
import { settlesWithin, TOKEN, withSocketApi } from "./harness.ts";

const CAP = 64 * 1024;

/** A graphql-ws client with the token that keeps its socket open until disposed. */
const connect = (url: string) =>
  createClient({
    url: url.replace(/^http/, "ws"),
    connectionParams: { authorization: `Bearer ${TOKEN}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
  });

Deno.test(
  "a subscriber that never reads holds at most the cap unsent, then is closed with 4413",
  withSocketApi(async (api, url) => {
    const w = writer(api.store);
    const plans = Array.from({ length: 20 }, (_, i) => `plan-${i}`);
    for (const id of plans) await w.createPlan(id);
    const client = await rawWebSocket(url, "graphql-transport-ws");
    try {
      await client.send(JSON.stringify({
        type: "connection_init",
        payload: { authorization: `Bearer ${TOKEN}` },
      }));
      await client.send(JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: "subscription { onPlanUpdated { id name description } }" },
      }));
      // Read until the subscription delivers once, then never again.
      const isNext = (frame: Frame) => textOf(frame).includes('"type":"next"');
      const firstPush = client.read(isNext);
      const big = "x".repeat(4000);
      let version = 0;
      const describe = (id: string) =>
        w.plan(id, (at) => ({
          type: "UpdatePlan",
          data: { planId: id, at, description: `${big} ${++version}` },
        }));
      const live = deadline(10_000, "the subscription's first push");
      for (;;) {
        live.check();
        await describe(plans[0]!);
        if (await settlesWithin(firstPush, 50)) break;
      }

      // Every update is pushed to a client that reads nothing: about 4 KB each.
      let most = 0;
      const slow = deadline(60_000, "the close of the client that does not read");
      const closedSlow = () => api.logs.some((line) => String(line.message).includes("(4413)"));
      while (!closedSlow()) {
        slow.check();
        for (const id of plans) await describe(id);
        // The memory store answers in microtasks: let timers (the server's drain checks) run.
        await new Promise((resolve) => setTimeout(resolve, 1));
        most = Math.max(most, api.server.sockets().bufferedBytes);
        assert.ok(most <= CAP + 16 * 1024, `at most the cap and one message unsent: ${most} bytes`);
      }
      assert.ok(version > 1000, `${version} updates pushed`);
      assert.ok(most >= CAP, `the client's buffer filled up to the cap (${most} bytes)`);

      // What was sent before the close still arrives, and then the close with its reason.
      const frames = await client.read((frame) => frame.opcode === 0x8);
      const close = frames.at(-1)!;
      assert.equal(close.opcode, 0x8);
      assert.deepEqual(closeOf(close), {
        code: TOO_SLOW,
        reason: "Too slow: the client did not read its messages for 1500 ms",
      });
      const pushes = frames.filter(isNext).length;
      assert.ok(pushes < version, `${pushes} of ${version} updates sent: the rest waited`);
    } finally {
      client.close();
    }
  }, { limits: { maxBufferedBytes: CAP, slowClientMs: 1500 } }),
);

Deno.test(
  "sockets beyond the process's cap are refused with 503, and a freed place is taken again",
  withSocketApi(async (_api, url) => {
    const clients = [connect(url), connect(url)];
    const typename = { query: "{ __typename }" };
    try {
      for (const client of clients) {
        assert.deepEqual((await client.iterate(typename).next()).value, {
          data: { __typename: "Query" },
        });
      }
      const third = await fetch(url, {
        headers: {
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-key": btoa("0123456789abcdef"),
          "sec-websocket-version": "13",
          "sec-websocket-protocol": "graphql-transport-ws",
        },
      });
      assert.equal(third.status, 503);
      assert.match(
        (await third.json()).errors[0].message,
        /too many WebSocket connections \(at most 2\)/,
      );

      const closed = new Promise((resolve) => clients[0]!.on("closed", resolve));
      await clients[0]!.dispose();
      await closed;
      const again = connect(url);
      clients.push(again);
      const until = deadline(10_000, "a place for a new socket");
      for (;;) {
        until.check();
        const reply = await again.iterate(typename).next().catch(() => null);
        if (reply) return assert.deepEqual(reply.value, { data: { __typename: "Query" } });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      for (const client of clients) await client.dispose();
    }
  }, { limits: { maxSockets: 2 } }),
);

Deno.test(
  "operations beyond the cap on one socket are refused; the ones running go on",
  withSocketApi(async (api, url) => {
    const client = connect(url);
    const closed = new Promise((resolve) => client.on("closed", resolve));
    try {
      const subscription = "subscription { onPlanUpdated { id } }";
      const running = [
        client.iterate({ query: subscription }),
        client.iterate({ query: subscription }),
      ];
      const firsts = running.map((updates) => updates.next());
      // Wait until both are registered: a push reaches both.
      const { id } = (await api.data(`mutation { createPlan(input: { name: "Gold" }) { id } }`))
        .createPlan;
      const until = deadline(10_000, "both subscriptions live");
      let settledBoth = false;
      for (let n = 0; !settledBoth; n++) {
        until.check();
        await api.data(`mutation { updatePlan(input: { id: "${id}", name: "G${n}" }) { id } }`);
        settledBoth = (await Promise.all(firsts.map((first) =>
          Promise.race([
            first.then(() => true),
            new Promise((r) => setTimeout(() => r(false), 25)),
          ])
        ))).every(Boolean);
      }
      await assert.rejects(
        client.iterate({ query: "{ __typename }" }).next(),
        (errors: { message: string; extensions?: { reason?: string } }[]) =>
          errors[0]?.extensions?.reason === "TooManyOperations" &&
          /at most 2/.test(errors[0].message),
      );
      await running[0]!.return?.();
      const until2 = deadline(10_000, "a freed operation place");
      for (;;) {
        until2.check();
        const reply = await client.iterate({ query: "{ __typename }" }).next().catch(() => null);
        if (reply) return assert.deepEqual(reply.value, { data: { __typename: "Query" } });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await client.dispose();
      await closed;
    }
  }, { limits: { maxOperationsPerSocket: 2 } }),
);
