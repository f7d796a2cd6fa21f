/**
 * subscribeAll for stores that can only be read: page through readAll from the stored
 * checkpoint, and when caught up wait for a local append (or a poll tick, for writers in
 * other processes) before reading again. The checkpoint is stored at most every
 * `checkpointMs` (and when the subscription ends), not after every page: live, a page is an
 * event or two, and a write per page was most of what a subscriber cost its store. After a
 * crash the subscriber sees again what it handled since, as the port allows.
 * @module
 */
import type {
  EventStore,
  SubscribeOptions,
  Subscription,
} from "../../application/ports/event_store.ts";

const PAGE = 1000;

export const pollingSubscription = (
  store: EventStore,
  { subscriberId, handler, signal, onCaughtUp }: SubscribeOptions,
  onLocalAppend: (wake: () => void) => () => void,
  pollMs = 50,
  checkpointMs = 100,
): Subscription => {
  // An append while a page is being handled must not wait for the next poll tick.
  let appended = false;
  let wake: () => void = () => {};
  const unlisten = onLocalAppend(() => {
    appended = true;
    wake();
  });
  const idle = () =>
    new Promise<void>((resolve) => {
      if (appended) return resolve();
      const timer = setTimeout(done, pollMs);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wake = () => {};
        resolve();
      }
      wake = done;
      signal.addEventListener("abort", done, { once: true });
    });

  const run = async () => {
    let position = 0;
    let stored = 0;
    let storedAt = performance.now();
    let reported: number | undefined;
    try {
      position = stored = await store.readCheckpoint(subscriberId);
      while (!signal.aborted) {
        appended = false;
        const page = await store.readAll({ after: position, limit: PAGE });
        for (const event of page) {
          if (signal.aborted) break;
          await handler(event);
          position = event.position;
        }
        if (position !== stored && performance.now() - storedAt >= checkpointMs) {
          await store.storeCheckpoint(subscriberId, position);
          stored = position;
          storedAt = performance.now();
        }
        if (page.length < PAGE && !signal.aborted) {
          // Once on reaching the end, and again after each batch of new events.
          if (reported !== position) onCaughtUp?.(position);
          reported = position;
          await idle();
        }
      }
    } finally {
      unlisten();
      if (position !== stored) await store.storeCheckpoint(subscriberId, position);
    }
  };
  return { done: run() };
};
