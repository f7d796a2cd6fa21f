/**
 * The source streams of onPlanUpdated and onPlanSubscriptionUpdated: the projector's
 * notices as async iterators. Hand-written rather than async generators, because a
 * generator waiting for the next notice cannot be returned from: a client that
 * unsubscribes would leave it hanging.
 * @module
 */
import type { PlanWithTiers } from "../../application/projections/fold.ts";
import type { Projector } from "../../application/projections/projector.ts";
import type { PlanSubscriptionView } from "../../application/ports/read_model.ts";

/** Notices a slow subscriber may fall behind by before older notices of an object are dropped. */
const MAX_QUEUED = 1000;

type Updates<T> = AsyncIterableIterator<T> & { return(): Promise<IteratorResult<T>> };

/** Only the latest notice of each object, in the order of those latest notices. */
const latestPerObject = <T extends { id: string }>(queued: readonly T[]): T[] => {
  const latest = new Map<string, T>();
  for (const notice of queued) {
    latest.delete(notice.id);
    latest.set(notice.id, notice);
  }
  return [...latest.values()];
};

/** The notices `listen` hands over that `wanted` keeps, for one subscriber. */
const updates = <T extends { id: string }>(
  listen: (listener: (notice: T) => void) => () => void,
  wanted: (notice: T) => boolean,
  maxQueued: number,
): Updates<T> => {
  let queued: T[] = [];
  let limit = maxQueued;
  const waiting: ((result: IteratorResult<T>) => void)[] = [];
  let finished = false;

  const unlisten = listen((notice) => {
    if (!wanted(notice)) return;
    const reader = waiting.shift();
    if (reader) return reader({ value: notice, done: false });
    if (queued.push(notice) <= limit) return;
    // Each notice is a whole object, so an object's older notices are the ones to drop: the
    // subscriber still gets every object's final state. Dropping the oldest notices instead
    // would lose objects whose last change is old, when one queue serves them all. Beyond
    // one notice per object nothing is dropped (what is stored bounds the queue); the limit
    // grows so that compacting stays linear.
    queued = latestPerObject(queued);
    limit = Math.max(maxQueued, queued.length * 2);
  });

  const end = (): Promise<IteratorResult<T>> => {
    if (!finished) {
      finished = true;
      unlisten();
      queued.length = 0;
      for (const reader of waiting.splice(0)) reader({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  };

  return {
    next() {
      const notice = queued.shift();
      if (notice) return Promise.resolve({ value: notice, done: false });
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => waiting.push(resolve));
    },
    return: end,
    async throw(error?: unknown) {
      await end();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
};

/** Every plan's changes, or those of the plan `planId`. */
export const planUpdates = (
  projector: Pick<Projector, "onPlanChanged">,
  planId: string | null,
  maxQueued = MAX_QUEUED,
): Updates<PlanWithTiers> =>
  updates(
    (listener) => projector.onPlanChanged(listener),
    (plan) => planId === null || plan.id === planId,
    maxQueued,
  );

/** Every plan subscription's changes, or those of the client `clientId`. */
export const planSubscriptionUpdates = (
  projector: Pick<Projector, "onPlanSubscriptionChanged">,
  clientId: string | null,
  maxQueued = MAX_QUEUED,
): Updates<PlanSubscriptionView> =>
  updates(
    (listener) => projector.onPlanSubscriptionChanged(listener),
    (subscription) => clientId === null || subscription.clientId === clientId,
    maxQueued,
  );
