import assert from "node:assert/strict";
import { sleep } from "../../../application/shared/sleep.ts";

/** Whether `promise` settles before a timer that fires on the next turn of the loop. */
const settlesAtOnce = (promise: Promise<void>) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 0)),
  ]).finally(() => clearTimeout(timer));
};

Deno.test("sleep() ends as soon as its signal aborts, leaving no timer behind", async () => {
  const stop = new AbortController();
  const waiting = sleep(60_000, stop.signal);
  assert.equal(await settlesAtOnce(waiting), false);
  stop.abort();
  assert.equal(await settlesAtOnce(waiting), true);
});

Deno.test("sleep() with an aborted signal does not wait at all", async () => {
  const stop = new AbortController();
  stop.abort();
  assert.equal(await settlesAtOnce(sleep(60_000, stop.signal)), true);
});

Deno.test("sleep() ends by itself when nothing aborts it", async () => {
  const signal = new AbortController().signal;
  const waiting = sleep(5, signal);
  assert.equal(await settlesAtOnce(waiting), false);
  await waiting; // the test would hang here if the timer never fired
});
