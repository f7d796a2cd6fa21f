/**
 * Taking, renewing and releasing a lease (lease.ts) in the event store, at a cost that does
 * not grow with time. The lease stream gains an event per renewal (every 20 s by default,
 * about 4,300 a day) while its state is its last event alone, so whoever appends a revision
 * that is a multiple of TRUNCATE_EVERY truncates the stream before it (the store's
 * truncateBefore): a renewal then reads at most TRUNCATE_EVERY events, on day 300 as on
 * day 1. docs/architecture.md says why truncation rather than a stream per epoch.
 * @module
 */
import type { EventStore } from "../ports/event_store.ts";
import { randomId } from "../ports/clock.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import { type CommandResult, handleCommand } from "../shared/command_handler.ts";
import {
  type LeaseCommand,
  leaseDecider,
  type LeaseEvent,
  type LeaseState,
  leaseStream,
} from "./lease.ts";

/**
 * A renewal reads at most this many lease events; one truncation per this many renewals
 * (about 17 minutes of them at the default 20 s) is the price.
 */
export const TRUNCATE_EVERY = 50;

export type LeaseCommands = {
  /** Takes the lease for `holder`, or extends it; throws DomainError LeaseHeld if taken. */
  acquire(at: string, ttlMs: number): Promise<CommandResult<LeaseEvent, LeaseState>>;
  /** Gives the lease up if `holder` has it. */
  release(): Promise<CommandResult<LeaseEvent, LeaseState>>;
};

export const leaseCommands = (
  { store, name, holder, logger = silentLogger }: {
    store: EventStore;
    name: string;
    holder: string;
    logger?: Logger;
  },
): LeaseCommands => {
  const streamId = leaseStream(name);
  const command = (command: LeaseCommand) =>
    handleCommand(store, leaseDecider, streamId, command, {
      metadata: {
        correlationId: holder,
        causationId: holder,
        cause: { kind: "system", reason: `lease ${name}` },
      },
      newEventId: randomId,
    });
  return {
    async acquire(at, ttlMs) {
      const result = await command({ type: "Acquire", data: { holder, at, ttlMs } });
      // Only the appender of a multiple truncates, so contenders never truncate twice; one
      // that crashed before truncating is made up for TRUNCATE_EVERY revisions later.
      if (result.events.length > 0 && result.revision % TRUNCATE_EVERY === 0) {
        try {
          await store.truncateBefore(streamId, result.revision);
        } catch (error) {
          // The lease is held all the same; the stream is truncated at the next multiple.
          logger.warn("could not truncate the lease stream", { error, streamId });
        }
      }
      return result;
    },
    release: () => command({ type: "Release", data: { holder } }),
  };
};
