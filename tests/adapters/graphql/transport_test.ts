import assert from "node:assert/strict";
import { serverAudits } from "graphql-http";
import { harness, serve, TOKEN, withApi } from "./harness.ts";

Deno.test("graphql-http's audit suite passes every MUST audit", async () => {
  const api = harness();
  try {
    await serve(api, async (url) => {
      const failed: string[] = [];
      // Every operation needs the token: the audits' requests carry it.
      const fetchFn = (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set("authorization", `Bearer ${TOKEN}`);
        return fetch(input, { ...init, headers });
      };
      const audits = serverAudits({ url, fetchFn });
      assert.ok(audits.filter((a) => a.name.startsWith("MUST")).length >= 10);
      for (const audit of audits) {
        const result = await audit.fn();
        if (result.status === "ok") continue;
        await result.response.body?.cancel();
        if (audit.name.startsWith("MUST")) failed.push(`${audit.name}: ${result.reason}`);
        else console.log(`audit ${result.status}: ${audit.name}: ${result.reason}`);
      }
      assert.deepEqual(failed, []);
    });
  } finally {
    await api.close();
  }
});

Deno.test(
  "a browser asking for /graphql gets GraphiQL, every file of it from this server, no token needed",
  withApi(async (api) => {
    const page = await api.request({
      method: "GET",
      headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(
      page.headers.get("content-security-policy")!,
      /^default-src 'self'; script-src 'self';/,
    );
    const files = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
      .filter((link) => link !== "data:,");
    assert.deepEqual(files.sort(), [
      "/graphql/assets/graphiql@3.8.3.css",
      "/graphql/assets/graphiql@3.8.3.js",
      "/graphql/assets/react-dom@18.3.1.js",
      "/graphql/assets/react@18.3.1.js",
      "/graphql/assets/start@3.8.3.js",
    ]);
    for (const file of files) {
      const reply = await api.server.handle(new Request(`http://localhost${file}`));
      assert.equal(reply?.status, 200, file);
      assert.match(
        reply.headers.get("content-type")!,
        file.endsWith(".css") ? /^text\/css/ : /^text\/javascript/,
      );
      assert.match(reply.headers.get("cache-control")!, /immutable/);
      const text = await reply.text();
      assert.ok(text.length > 100, file);
      assert.doesNotMatch(text, /https?:\/\/(unpkg|cdn|esm\.sh)/, file);
    }
    const start = await (await api.server.handle(
      new Request("http://localhost/graphql/assets/start@3.8.3.js"),
    ))!.text();
    assert.match(start, /GraphiQL\.createFetcher\(\{ url, subscriptionUrl:/);
    assert.equal(
      await api.server.handle(new Request("http://localhost/graphql/assets/nope.js")),
      null,
    );

    // A GraphQL client sending a GET query gets JSON even if it also accepts HTML.
    const query = await api.request({
      url: `http://localhost/graphql?query=${encodeURIComponent("{ __typename }")}`,
      method: "GET",
      headers: { accept: "application/json, text/html", authorization: `Bearer ${TOKEN}` },
    });
    assert.deepEqual(query.body, { data: { __typename: "Query" } });
  }),
);

Deno.test(
  "a mutation over GET is refused: GET is for queries only",
  withApi(async (api) => {
    const mutation = encodeURIComponent(`mutation { createPlan(input: { name: "Gold" }) { id } }`);
    const reply = await api.request({
      url: `http://localhost/graphql?query=${mutation}`,
      method: "GET",
      headers: {
        accept: "application/graphql-response+json",
        authorization: "Bearer test-token-0123456789abcdef",
      },
    });
    assert.equal(reply.status, 405);
    assert.equal((await api.store.readAll()).length, 0);
  }),
);

Deno.test(
  "other paths are not the GraphQL server's",
  withApi(async (api) => {
    assert.equal(await api.server.handle(new Request("http://localhost/graphql/x")), null);
    assert.equal(await api.server.handle(new Request("http://localhost/")), null);
  }),
);
