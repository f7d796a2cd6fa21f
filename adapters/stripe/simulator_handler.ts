/**
 * What a route handler of the Stripe simulator is: given the request's parameters and the
 * store, it validates, reads and returns what to answer, what to write and which events to
 * send; simulator.ts runs it in one transaction. With the helpers every handler uses.
 * @module
 */
import { noSuch, type StripeObject } from "./simulator_objects.ts";
import type { Change, Kind, SimulatorStore } from "./simulator_store.ts";

export type Ctx = {
  params: Record<string, unknown>;
  id: string;
  now: number;
  store: SimulatorStore;
  /** Where the simulator listens, for the URLs it hands out (a Checkout Session's page). */
  baseUrl?: string;
};
export type EventSpec = {
  type: string;
  object: StripeObject;
  previous?: Record<string, unknown>;
  /** Caused by no API request (a customer paying): `request` is null, as in Stripe's. */
  automatic?: boolean;
};
export type Outcome = { body: unknown; changes?: Change[]; events?: EventSpec[] };
export type Handler = (ctx: Ctx) => Outcome;

/** The object of `kind` with `id`, or Stripe's resource_missing error naming `param`. */
export const load = (ctx: Ctx, kind: Kind, id = ctx.id, param?: string): StripeObject =>
  ctx.store.get<StripeObject>(kind, id) ?? (() => {
    throw noSuch(kind, id, param);
  })();

/** The answer to a create: the new object, written, and its `<kind>.created` event ("": none). */
export const created = (kind: Kind, object: StripeObject, event = `${kind}.created`): Outcome => ({
  body: object,
  changes: [{ kind, id: object.id, value: object }],
  events: event === "" ? [] : [{ type: event, object }],
});
