/**
 * The stale guard for changes that come from Stripe. Stripe stamps each event with
 * `created` in whole seconds, so an object's last change is kept in whole seconds too:
 * a Stripe change applies unless it is strictly older than that second, so two changes
 * within the same second both apply (a `<=` here drops the second one).
 * @module
 */

/** Whole seconds since the epoch of an ISO 8601 time. */
export const epochSecond = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** True when a Stripe event created at `created` must not overwrite the object. */
export const isStale = (created: number, lastChangedAt: number): boolean => created < lastChangedAt;

/** A change that came from Stripe: when Stripe made it, and which event told us. */
export type StripeChange = { stripeEventId: string; stripeEventCreated: number };

type Changing = { updatedAt: string; lastChangedAt: number };

/**
 * The object after a change recorded at `at`: a change from Stripe counts from the
 * Stripe event's `created`, one from Nudges from `at`.
 */
export const changed = <T extends Changing>(
  object: T,
  at: string,
  fields: NoInfer<Partial<T>>,
  stripeEventCreated?: number,
): T => ({
  ...object,
  ...fields,
  updatedAt: at,
  lastChangedAt: Math.max(object.lastChangedAt, stripeEventCreated ?? epochSecond(at)),
});
