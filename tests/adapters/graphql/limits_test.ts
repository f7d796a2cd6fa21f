import assert from "node:assert/strict";
import { getIntrospectionQuery } from "graphql";
import { withApi } from "./harness.ts";

Deno.test(
  "the full introspection query that GraphiQL and client tools send is within the limits",
  withApi(async (api) => {
    const reply = await api.gql(
      getIntrospectionQuery({
        descriptions: true,
        inputValueDeprecation: true,
        specifiedByUrl: true,
      }),
    );
    assert.equal(reply.body.errors, undefined);
    assert.equal(reply.body.data.__schema.queryType.name, "Query");
  }),
);

Deno.test(
  "an operation nested deeper than the limit is refused before it runs",
  withApi(async (api) => {
    const ofType = (depth: number): string =>
      depth === 0 ? "name" : `ofType { ${ofType(depth - 1)} }`;
    const deep = await api.gql(`{ __type(name: "Plan") { ${ofType(14)} } }`);
    assert.equal(deep.body.data, undefined);
    assert.equal(deep.body.errors[0].extensions.code, "BAD_USER_INPUT");
    assert.match(deep.body.errors[0].message, /nests 16 fields deep; at most 15/);

    const fine = await api.gql(`{ __type(name: "Plan") { ${ofType(13)} } }`);
    assert.equal(fine.body.errors, undefined);
  }),
);

Deno.test(
  "an operation that could return too much is refused, fragments counted where they are spread",
  withApi(async (api) => {
    const aliases = Array.from({ length: 8 }, (_, i) => `p${i}: plans { ...P }`).join(" ");
    const costly = await api.gql(`{ ${aliases} }
      fragment P on Plan { id name priceTiers { id unitAmount currency interval } }`);
    assert.equal(costly.body.errors[0].extensions.code, "BAD_USER_INPUT");
    assert.match(costly.body.errors[0].message, /could return about 3448 fields; at most 2000/);

    // A fragment spread over and over costs what it returns, and validating it stays cheap.
    const fragments = Array.from(
      { length: 40 },
      (_, i) =>
        `fragment F${i} on Query { ${i === 39 ? "plans { id }" : `...F${i + 1} ...F${i + 1}`} }`,
    );
    const bomb = await api.gql(`{ ...F0 } ${fragments.join(" ")}`);
    assert.match(bomb.body.errors[0].message, /could return about \d+ fields/);

    const fine = await api.gql(
      `{ plans { id name priceTiers { id unitAmount currency interval } } }`,
    );
    assert.equal(fine.body.errors, undefined);
  }, { limits: { maxCost: 2000 } }),
);

Deno.test(
  "a request body over the limit is refused with 413 and never parsed",
  withApi(async (api) => {
    const reply = await api.request({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ plans { id } }`, padding: "x".repeat(2048) }),
    });
    assert.equal(reply.status, 413);
    assert.match(reply.body.errors[0].message, /larger than 1024 bytes/);

    // A body that hides its length is cut off at the limit as well.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(200)));
        controller.close();
      },
    });
    const streamed = await api.request({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunks,
    });
    assert.equal(streamed.status, 413);
  }, { limits: { maxBodyBytes: 1024 } }),
);
