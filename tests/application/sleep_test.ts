import assert from "node:assert/strict";
import { sleep } from "../../application/sleep.ts";

Deno.test("sleep() ends as soon as its signal aborts, leaving no timer behind", async () => {
  const stop = new AbortController();
  let ended = false;
  const waiting = sleep(60_000, stop.signal).then(() => ended = true);
  await Promise.resolve();
  assert.equal(ended, false);
  stop.abort();
  await waiting;
  assert.equal(ended, true);
});

Deno.test("sleep() with an aborted signal does not wait at all", async () => {
  const stop = new AbortController();
  stop.abort();
  await sleep(60_000, stop.signal); // the sanitizers fail the test if a timer is left
});

Deno.test("sleep() waits out its time when nothing aborts it", async () => {
  const started = performance.now();
  await sleep(20, new AbortController().signal);
  assert.ok(performance.now() - started >= 15);
});
