/**
 * A Stripe event that needs another object Nudges has not seen yet (a price whose product
 * no plan owns, an invoice of a subscription not imported yet). It cannot wait on the bus:
 * the other object's event may be behind it in the same partition, so retrying it in place
 * only ends in the dead-letter topic. It is parked instead, in a stream per awaited object,
 * and its message is done; whoever makes that object known applies what is parked there.
 * Both sides write first and read second (the waiting handler parks, then looks for the
 * object; the object's handler records it, then reads what is parked), so with a
 * linearizable store at least one of them sees the other and nothing is left behind.
 * Applying twice is harmless: each parked event applies under ids derived from its own
 * Stripe event id.
 * @module
 */
import { type Decider, unreachable } from "../../domain/decider.ts";
import { aggregate } from "../shared/command_handler.ts";
import { applyOnce, type InboundContext } from "./context.ts";

type Parked = {
  stripeEventId: string;
  stripeEventType: string;
  created: number;
  event: Record<string, unknown>;
};
/** The awaited object's id is kept under a field of its own name (stripeProductId, …). */
type Keyed = Record<string, unknown> & { stripeEventId: string };

type PendingCommand =
  | { type: "Park"; data: Keyed & Parked }
  | { type: "MarkApplied"; data: Keyed };
type PendingEvent = { type: string; data: Keyed & Partial<Parked> };
/** Stripe event ids: every event parked, and those of them applied since. */
type PendingState = { parked: ReadonlySet<string>; applied: ReadonlySet<string> };

export type ParkingLot = {
  /** The stream of what waits for the object `key`. */
  stream(key: string): string;
  /** Parks the event of `ctx` until the object `key` is known. */
  park(ctx: InboundContext, key: string): Promise<void>;
  /**
   * The events parked for `key` and not applied yet, oldest first, each as the context of
   * its own Stripe event: what it applies is caused by that event, not by the one that
   * released it.
   */
  waiting(deps: Omit<InboundContext, keyof Parked | "metadata">, key: string): Promise<
    InboundContext[]
  >;
  /** The parked event of `parked` has been applied: later releases skip it. */
  markApplied(parked: InboundContext, key: string): Promise<void>;
};

export const parkingLot = (
  { category, keyField, parkedType, appliedType }: {
    category: string;
    keyField: string;
    parkedType: string;
    appliedType: string;
  },
): ParkingLot => {
  const decider: Decider<PendingCommand, PendingEvent, PendingState> = {
    initialState: () => ({ parked: new Set(), applied: new Set() }),
    decide: (command, state) => {
      switch (command.type) {
        case "Park":
          return state.parked.has(command.data.stripeEventId)
            ? []
            : [{ type: parkedType, data: command.data }];
        case "MarkApplied":
          return state.applied.has(command.data.stripeEventId)
            ? []
            : [{ type: appliedType, data: command.data }];
        default:
          return unreachable(command);
      }
    },
    evolve: (state, event) => {
      const id = event.data.stripeEventId;
      if (event.type === parkedType) return { ...state, parked: new Set(state.parked).add(id) };
      if (event.type === appliedType) return { ...state, applied: new Set(state.applied).add(id) };
      return state;
    },
  };
  const stream = (key: string) => `${category}-${key}`;
  const pending = aggregate(decider, stream, (command) => String(command.data[keyField]));
  return {
    stream,
    park: async (ctx, key) => {
      const { stripeEventId, stripeEventType, created, event } = ctx;
      await applyOnce(ctx, pending, {
        type: "Park",
        data: { [keyField]: key, stripeEventId, stripeEventType, created, event },
      }, "park");
    },
    waiting: async (deps, key) => {
      const { state, recorded } = await pending.read(deps.store, key);
      return recorded.flatMap((e) => {
        const { stripeEventId, stripeEventType, created, event } = e.data;
        if (
          e.type !== parkedType || state.applied.has(stripeEventId) ||
          stripeEventType === undefined || created === undefined || event === undefined
        ) return [];
        const { eventId: _, ...metadata } = e.metadata;
        return [{ ...deps, stripeEventId, stripeEventType, created, event, metadata }];
      });
    },
    markApplied: async (parked, key) => {
      await applyOnce(parked, pending, {
        type: "MarkApplied",
        data: { [keyField]: key, stripeEventId: parked.stripeEventId },
      }, "applied");
    },
  };
};
