// docs/asyncapi.yaml is generated from the zod schemas; these keep it true to them.
import assert from "node:assert/strict";
import { IntegrationEvent } from "../../application/shared/integration_events.ts";
import { ASYNCAPI_PATH, asyncApiDocument, asyncApiYaml } from "../../scripts/asyncapi.ts";

Deno.test("docs/asyncapi.yaml is what scripts/asyncapi.ts makes of the current schemas", async () => {
  assert.equal(
    await Deno.readTextFile(ASYNCAPI_PATH),
    asyncApiYaml(),
    "docs/asyncapi.yaml is stale: run `deno run --allow-write=docs scripts/asyncapi.ts`",
  );
});

Deno.test("the AsyncAPI document describes every message of the IntegrationEvent union", () => {
  const document = asyncApiDocument() as { components: { messages: Record<string, unknown> } };
  const types = IntegrationEvent.options.map((schema) => schema.shape.type.value);
  for (const type of types) assert.ok(type in document.components.messages, `${type} is missing`);
});
