/**
 * Waiting that a stop can cut short: backoffs, renewals and polls all end at once when the
 * signal aborts, so a stopping app never waits out a timer.
 * @module
 */

/** Resolves after `ms`, or as soon as `signal` aborts (at once if it has already). */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
