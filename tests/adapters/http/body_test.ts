import assert from "node:assert/strict";
import { readAtMost } from "../../../adapters/http/body.ts";

const encoder = new TextEncoder();

/** A body arriving in `chunks`; `pulled` counts the chunks read from it. */
const streamOf = (chunks: string[]) => {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      const chunk = chunks[state.pulled++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(encoder.encode(chunk));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 }); // pulled only when read: `pulled` counts what was read

  return { stream, state };
};

Deno.test("readAtMost() returns the whole body, however it is chunked", async () => {
  const { stream } = streamOf(['{"query":', ' "{ plans ', '{ id } }"}']);
  const body = await readAtMost(stream, 100);
  assert.equal(new TextDecoder().decode(body!), '{"query": "{ plans { id } }"}');
  assert.deepEqual(await readAtMost(null, 100), new Uint8Array());
  assert.equal((await readAtMost(streamOf(["1234"]).stream, 4))?.byteLength, 4);
});

Deno.test("readAtMost() refuses a body past the limit without reading the rest", async () => {
  const { stream, state } = streamOf(["12345", "67890", "never read", "nor this"]);
  assert.equal(await readAtMost(stream, 9), null);
  assert.equal(state.pulled, 2);
  assert.equal(state.cancelled, true);
});
