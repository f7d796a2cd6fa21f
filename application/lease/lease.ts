/**
 * A lease kept in the event store, so that one process at a time does a job (the outbox)
 * however many replicas run, on SQLite and EventStoreDB alike. The lease is a stream,
 * `lease-<name>`; taking or renewing it is an append at the revision that was read, so of
 * two contenders that read the same revision exactly one wins (optimistic concurrency).
 * A process may take the lease when nobody holds it, when it was released, or when its
 * `until` has passed by the taker's clock: clocks must agree to well within ttl - renewal.
 * runner.ts keeps a job running under it.
 * @module
 */
import { conflict, type Decider, invalid, unreachable } from "../../domain/decider.ts";

export const leaseStream = (name: string): string => `lease-${name}`;

export type LeaseEvent =
  | { type: "LeaseAcquired"; data: { holder: string; until: string } }
  | { type: "LeaseRenewed"; data: { holder: string; until: string } }
  | { type: "LeaseReleased"; data: { holder: string } };

/** Who holds the lease and until when (ISO 8601); null when it is free. */
export type LeaseState = { holder: string; until: string } | null;

export type LeaseCommand =
  /** Take the lease, or extend it when `holder` has it already. */
  | { type: "Acquire"; data: { holder: string; at: string; ttlMs: number } }
  /** Give it up: a no-op unless `holder` has it. */
  | { type: "Release"; data: { holder: string } };

/** True when the lease is free at `at`: never taken, released, or past its `until`. */
export const isFree = (state: LeaseState, at: string): boolean =>
  state === null || Date.parse(state.until) <= Date.parse(at);

export const leaseDecider: Decider<LeaseCommand, LeaseEvent, LeaseState> = {
  initialState: () => null,
  decide(command, state) {
    switch (command.type) {
      case "Acquire": {
        const { holder, at, ttlMs } = command.data;
        if (holder === "") throw invalid("LeaseHolderMissing", "a lease holder needs a name");
        if (Number.isNaN(Date.parse(at))) {
          throw invalid("LeaseTimeInvalid", `${JSON.stringify(at)} is not an ISO 8601 time`);
        }
        if (!(ttlMs > 0)) throw invalid("LeaseTtlInvalid", `ttl ${ttlMs} ms is not positive`);
        const until = new Date(Date.parse(at) + ttlMs).toISOString();
        // The last writer is still the holder: nobody else can have worked meanwhile.
        if (state?.holder === holder) return [{ type: "LeaseRenewed", data: { holder, until } }];
        if (isFree(state, at)) return [{ type: "LeaseAcquired", data: { holder, until } }];
        throw conflict("LeaseHeld", `the lease is held by ${state!.holder} until ${state!.until}`);
      }
      case "Release":
        return state?.holder === command.data.holder
          ? [{ type: "LeaseReleased", data: { holder: command.data.holder } }]
          : [];
      default:
        return unreachable(command);
    }
  },
  evolve(_state, event) {
    switch (event.type) {
      case "LeaseAcquired":
      case "LeaseRenewed":
        return { holder: event.data.holder, until: event.data.until };
      case "LeaseReleased":
        return null;
      default:
        return unreachable(event);
    }
  },
};
