/**
 * Whether an event store still holds the event a read model's checkpoint names (its
 * stream, revision, position and id): the projector and the auditors' verify ask before
 * trusting documents built from "this" store. The event is found by its own revision, not
 * by its index in the stream, because a truncated stream (EventStore.truncateBefore, used
 * for the lease) no longer starts at revision 0. And since a quiet system's last event is
 * usually a lease renewal, a checkpoint often names an event truncated since: that is taken
 * as held when the stream's first kept event comes after it in both revision and position,
 * as it would in the store that had it, rather than rebuilding at every restart.
 * @module
 */
import type { EventStore } from "../ports/event_store.ts";

export type NamedEvent = {
  position: number;
  eventId: string | null;
  streamId?: string;
  revision?: number;
};

/** held: the store has it (or truncated it); otherwise the id of what it has there, if anything. */
export type CheckpointEvent = { held: true } | { held: false; found?: string };

export const checkpointEvent = async (
  store: EventStore,
  { position, eventId, streamId, revision }: NamedEvent,
): Promise<CheckpointEvent> => {
  if (streamId === undefined || revision === undefined) return { held: false };
  const recorded = await store.readStream(streamId);
  const event = recorded.find((e) => e.revision === revision);
  if (event) {
    const found = event.position === position ? event.metadata.eventId : undefined;
    return found === eventId ? { held: true } : { held: false, found };
  }
  const first = recorded[0];
  const truncated = first !== undefined && first.revision > revision && first.position > position;
  return truncated ? { held: true } : { held: false };
};
