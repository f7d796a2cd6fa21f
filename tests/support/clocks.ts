// Time and ids that tests know in advance.
import type { Clock, NewId } from "../../application/ports/clock.ts";

/** A clock that starts at `start` and moves on by `stepMs` at each reading. */
export const steppingClock = (start: string, stepMs = 1000): Clock => {
  let next = Date.parse(start);
  return () => {
    const now = new Date(next).toISOString();
    next += stepMs;
    return now;
  };
};

/** Ids "<prefix>-1", "<prefix>-2", … for tests that must know them in advance. */
export const sequentialIds = (prefix = "id"): NewId => {
  let n = 0;
  return () => `${prefix}-${++n}`;
};
