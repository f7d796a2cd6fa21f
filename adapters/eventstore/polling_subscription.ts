// subscribeAll for stores that can only be read: page through readAll from the stored
// checkpoint, and when caught up wait for a local append (or a poll tick, for writers in
// other processes) before reading again.
import type { EventStore, SubscribeOptions, Subscription } from "../../application/event_store.ts";

const PAGE = 1000;

export const pollingSubscription = (
  store: EventStore,
  { subscriberId, handler, signal, onCaughtUp }: SubscribeOptions,
  onLocalAppend: (wake: () => void) => () => void,
  pollMs = 50,
): Subscription => {
  let wake: () => void = () => {};
  const unlisten = onLocalAppend(() => wake());
  const idle = () =>
    new Promise<void>((resolve) => {
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
    let position = await store.readCheckpoint(subscriberId);
    try {
      while (!signal.aborted) {
        const page = await store.readAll({ after: position, limit: PAGE });
        for (const event of page) {
          if (signal.aborted) break;
          await handler(event);
          position = event.position;
        }
        if (page.length > 0) await store.storeCheckpoint(subscriberId, position);
        if (page.length < PAGE && !signal.aborted) {
          onCaughtUp?.(position);
          await idle();
        }
      }
    } finally {
      unlisten();
      await store.storeCheckpoint(subscriberId, position);
    }
  };
  return { done: run() };
};
