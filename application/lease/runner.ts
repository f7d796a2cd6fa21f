/**
 * Keeps a job running in the one process that holds its lease (lease.ts): tries to take
 * the lease, renews it while the job runs, stops the job the moment the lease is lost, and
 * releases it at stop so that another process takes over at once.
 *
 * Each renewal is one event, read by every subscriber to the store's global order: the
 * default ttl of a minute (a renewal every 20 s) trades a slower hand-over after a crash
 * for a quieter store. commands.ts keeps the stream short, so a renewal costs the same
 * however long the lease has been kept.
 * @module
 */
import { DomainError } from "../../domain/decider.ts";
import type { Clock } from "../ports/clock.ts";
import type { EventStore } from "../ports/event_store.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import { type Metrics, noMetrics } from "../ports/metrics.ts";
import { sleep } from "../shared/sleep.ts";
import { leaseCommands } from "./commands.ts";
import { leaseStream } from "./lease.ts";

export type LeaseOptions = {
  store: EventStore;
  /** The job the lease is for: names its stream. */
  name: string;
  /** This process, unique among the contenders (and across restarts). */
  holder: string;
  clock: Clock;
  /** Aborting stops the work, releases the lease and ends the loop. */
  signal: AbortSignal;
  /**
   * The work, run only while the lease is held. Its signal aborts at once when the lease is
   * lost (a renewal failed or found another holder, or `until` passed unrenewed) or at stop;
   * the lease is taken again only once the promise it returns has settled.
   */
  whileHeld: (signal: AbortSignal) => Promise<void>;
  /** How long the lease lasts unrenewed, by `clock` (default 60 s). */
  ttlMs?: number;
  /** How often the holder renews (default ttl / 3). */
  renewEveryMs?: number;
  /** How often a process without the lease tries to take it (default: renewEveryMs). */
  retryEveryMs?: number;
  /** Called when the lease is taken and the work starts (true), and when it stops (false). */
  onHeld?: (held: boolean) => void;
  logger?: Logger;
  /** Gets lease_acquire_seconds: how long each take or renewal took, by outcome. */
  metrics?: Metrics;
};

export type LeaseRunner = {
  /** True while the work runs under the lease. */
  held(): boolean;
  /** Resolves once stopped: the work has ended and the lease was released. */
  done: Promise<void>;
};

/** Keeps trying to take the lease; runs `whileHeld` while it has it. */
export const runWithLease = (options: LeaseOptions): LeaseRunner => {
  const { store, holder, clock, signal, whileHeld, onHeld, ttlMs = 60_000 } = options;
  const renewEveryMs = options.renewEveryMs ?? ttlMs / 3;
  const retryEveryMs = options.retryEveryMs ?? renewEveryMs;
  if (!(renewEveryMs > 0 && renewEveryMs < ttlMs)) {
    throw new RangeError(`renewal every ${renewEveryMs} ms must come within the ttl (${ttlMs} ms)`);
  }
  const streamId = leaseStream(options.name);
  const log = (options.logger ?? silentLogger).with({ lease: streamId, holder });
  const lease = leaseCommands({ store, name: options.name, holder, logger: log });
  const took = (options.metrics ?? noMetrics).histogram(
    "lease_acquire_seconds",
    "Time to take or renew the lease (read its stream, append), by outcome",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );

  let work: { controller: AbortController; deadline: ReturnType<typeof setTimeout> } | null = null;
  let ended: Promise<void> = Promise.resolve();
  let waiting = false; // said once that another process holds the lease

  const stopWork = () => {
    if (!work) return;
    clearTimeout(work.deadline);
    work.controller.abort();
    work = null;
    onHeld?.(false);
  };
  // Stops the work when the lease runs out unrenewed (a renewal that hangs, say).
  const deadline = (until: string) =>
    setTimeout(() => {
      log.warn("lease expired unrenewed, work stopped", { until });
      stopWork();
    }, Math.max(0, Date.parse(until) - Date.parse(clock())));

  const startWork = (until: string) => {
    const controller = new AbortController();
    const current = { controller, deadline: deadline(until) };
    work = current;
    onHeld?.(true);
    ended = (async () => {
      try {
        await whileHeld(controller.signal);
        if (!controller.signal.aborted) log.warn("work ended under the lease; restarting it");
      } catch (error) {
        log.error("work failed under the lease; restarting it", { error });
      } finally {
        if (work === current) stopWork();
      }
    })();
  };

  const run = async () => {
    try {
      while (!signal.aborted) {
        const started = performance.now();
        const timed = (outcome: string) =>
          took.observe((performance.now() - started) / 1000, { lease: options.name, outcome });
        try {
          const { state } = await lease.acquire(clock(), ttlMs);
          timed(work ? "renewed" : "taken");
          const until = state!.until;
          waiting = false;
          if (work) {
            clearTimeout(work.deadline);
            work.deadline = deadline(until);
          } else {
            await ended; // the previous run of the work has stopped: never two at once
            if (signal.aborted) break;
            log.info("lease acquired", { until });
            startWork(until);
          }
        } catch (error) {
          const heldElsewhere = error instanceof DomainError && error.code === "LeaseHeld";
          timed(heldElsewhere ? "held_elsewhere" : "failed");
          if (work) log.warn("lease lost, work stopped", { error });
          else if (!heldElsewhere) log.warn("could not take the lease", { error });
          else if (!waiting) log.info("lease held elsewhere, waiting", { reason: error.message });
          waiting = heldElsewhere;
          stopWork();
        }
        await sleep(work ? renewEveryMs : retryEveryMs, signal);
      }
    } finally {
      stopWork();
      await ended;
      // Released, the lease passes on at the next contender's try instead of after the ttl.
      try {
        if ((await lease.release()).events.length > 0) {
          log.info("lease released");
        }
      } catch (error) {
        log.warn("could not release the lease; it lapses after its ttl", { error });
      }
    }
  };
  return { held: () => work !== null, done: run() };
};
