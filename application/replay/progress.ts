/**
 * Rebuild progress on stderr: an animated bar on a terminal; a few plain lines in a log
 * (at each quarter, or every 10 s when the total is unknown), so CI logs stay short.
 * @module
 */

export type ProgressSink = {
  write(text: string): void;
  /** Redraw one line in place: only where a person watches a terminal. */
  isTerminal: boolean;
  /** Milliseconds, monotonic. */
  now(): number;
};

const BAR_WIDTH = 30;
const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 10_000;

const n = (value: number) => Math.round(value).toLocaleString("en");

/** "450,000 / 1,000,000 events (45%), 123,456 events/s" */
export const progressText = (read: number, total: number | undefined, elapsedMs: number) => {
  const rate = elapsedMs > 0 ? read / (elapsedMs / 1000) : 0;
  const of = total === undefined
    ? `${n(read)} events`
    : `${n(read)} / ${n(total)} events (${percent(read, total)}%)`;
  return `${of}, ${n(rate)} events/s`;
};

const percent = (read: number, total: number) =>
  total === 0 ? 100 : Math.min(100, Math.floor((read / total) * 100));

export const progressBar = (read: number, total: number | undefined, elapsedMs: number) => {
  const filled = total === undefined || total === 0
    ? BAR_WIDTH
    : Math.min(BAR_WIDTH, Math.round((read / total) * BAR_WIDTH));
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${
    progressText(read, total, elapsedMs)
  }`;
};

export type ProgressReporter = {
  update(read: number): void;
  /** The last figures, and on a terminal the end of the bar's line. */
  finish(read: number): void;
};

export const progressReporter = (
  sink: ProgressSink,
  total: number | undefined,
): ProgressReporter => {
  const start = sink.now();
  let lastDrawn = -Infinity;
  let nextQuarter = 1;
  const elapsed = () => sink.now() - start;
  const draw = (read: number) => sink.write(`\r\x1b[2K${progressBar(read, total, elapsed())}`);
  const line = (read: number) => sink.write(`replay: ${progressText(read, total, elapsed())}\n`);
  return {
    update(read) {
      const now = sink.now();
      if (sink.isTerminal) {
        if (now - lastDrawn < REDRAW_MS) return;
        lastDrawn = now;
        draw(read);
        return;
      }
      if (total !== undefined && total > 0) {
        if (read >= total || read * 4 < nextQuarter * total) return;
        while (read * 4 >= nextQuarter * total) nextQuarter++;
        line(read);
      } else if (now - lastDrawn >= PLAIN_EVERY_MS) {
        if (lastDrawn !== -Infinity) line(read);
        lastDrawn = now;
      }
    },
    finish(read) {
      if (sink.isTerminal) {
        draw(read);
        sink.write("\n");
      } else line(read);
    },
  };
};
