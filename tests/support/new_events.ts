// Events written straight to a store, for tests and as a seed for benchmarks: caused by
// the system.
import type { NewEvent } from "../../application/ports/event_store.ts";

/** An event of `type` with `data`, a new id and a system cause named `reason`. */
export const systemEvent = (type: string, data: unknown, reason = "bench"): NewEvent => ({
  type,
  data,
  metadata: {
    eventId: crypto.randomUUID(),
    correlationId: reason,
    causationId: reason,
    cause: { kind: "system", reason },
  },
});
