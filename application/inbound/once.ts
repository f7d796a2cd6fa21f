// Applying a Stripe event's commands exactly once. Each command a Stripe event causes
// gets event ids derived from (Stripe event id, stream, step), so a redelivered event
// finds its own events in the stream and skips the command instead of deciding again.
import type { Decider } from "../../domain/decider.ts";
import { nameBasedId } from "../shared/ids.ts";
import type { Clock } from "../ports/clock.ts";
import {
  ConcurrencyConflict,
  type DomainEvent,
  handleCommand,
  readState,
} from "../shared/command_handler.ts";
import type { EventMetadata, EventStore } from "../ports/event_store.ts";

/** What the commands of one Stripe event share. */
export type InboundContext = {
  store: EventStore;
  clock: Clock;
  stripeEventId: string;
  stripeEventType: string;
  /** Stripe's `created` of the event, whole seconds: the domain's stale guard. */
  created: number;
  /** The Stripe event as Stripe sent it. */
  event: Record<string, unknown>;
  metadata: Omit<EventMetadata, "eventId">;
};

// No inbound command produces more than two events; a few spare ids cost nothing.
const IDS_PER_STEP = 4;

const stepIds = (ctx: InboundContext, streamId: string, step: string): Promise<string[]> =>
  Promise.all(
    Array.from(
      { length: IDS_PER_STEP },
      (_, i) => nameBasedId("stripeEffect", `${ctx.stripeEventId}|${streamId}|${step}|${i}`),
    ),
  );

/**
 * Runs `command` on `streamId` unless this Stripe event already did (`step` tells apart
 * several commands of one event on one stream). A concurrent writer means: look again.
 */
export const applyOnce = async <C, E extends DomainEvent, S>(
  ctx: InboundContext,
  decider: Decider<C, E, S>,
  streamId: string,
  command: C,
  step: string,
): Promise<void> => {
  const ids = await stepIds(ctx, streamId, step);
  for (let attempt = 1;; attempt++) {
    const { revision, eventIds } = await readState(ctx.store, decider, streamId);
    if (ids.some((id) => eventIds.has(id))) return;
    let next = 0;
    try {
      await handleCommand(ctx.store, decider, streamId, command, {
        metadata: ctx.metadata,
        expectedRevision: revision,
        newEventId: () => {
          const id = ids[next++];
          if (id === undefined) throw new Error(`${step} on ${streamId} made too many events`);
          return id;
        },
      });
      return;
    } catch (error) {
      if (!(error instanceof ConcurrencyConflict) || attempt >= 3) throw error;
    }
  }
};
