/**
 * Deadlines for tests that wait: a wait that never ends fails the test, naming what it
 * waited for, instead of hanging the run. Every timer is cleared, so Deno's sanitizers
 * stay quiet whether the wait succeeds or not.
 *
 * @module
 */

/** Something a test waited for did not happen in time. */
export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
  constructor(what: string, ms: number) {
    super(`gave up waiting after ${ms} ms for ${what}`);
  }
}

/** `promise`, or a DeadlineExceeded naming `what` if it has not settled within `ms`. */
export const withDeadline = async <T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceeded(what, ms)), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

/** A deadline `ms` from now, for loops: `check()` throws DeadlineExceeded once it has passed. */
export const deadline = (ms: number, what: string) => {
  const end = performance.now() + ms;
  return {
    check: () => {
      if (performance.now() >= end) throw new DeadlineExceeded(what, ms);
    },
  };
};

/**
 * The items of `items` as they come, for at most `ms` in all (counted from the first
 * pull): a `for await` over it ends by `break`, by the end of `items`, or by a
 * DeadlineExceeded naming `what`. Leaving the loop closes `items`.
 */
export async function* within<T>(
  items: AsyncIterable<T>,
  ms: number,
  what: string,
): AsyncGenerator<T, void, undefined> {
  const iterator = items[Symbol.asyncIterator]();
  const end = performance.now() + ms;
  let timedOut = false;
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await withDeadline(iterator.next(), end - performance.now(), what);
      } catch (error) {
        if (!(error instanceof DeadlineExceeded)) throw error;
        timedOut = true;
        throw new DeadlineExceeded(what, ms);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // After a timeout a next() is still pending, behind which an async generator would
    // queue return(): ask it to close without waiting for it.
    if (timedOut) iterator.return?.()?.catch(() => {});
    else await iterator.return?.();
  }
}
