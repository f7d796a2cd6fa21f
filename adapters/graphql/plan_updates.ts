/**
 * The onPlanUpdated source stream: the projector's plan notices as an async iterator.
 * Hand-written rather than an async generator, because a generator waiting for the next
 * notice cannot be returned from: a client that unsubscribes would leave it hanging.
 * @module
 */
import type { PlanWithTiers } from "../../application/projections/fold.ts";
import type { Projector } from "../../application/projections/projector.ts";

/** Notices a slow subscriber may fall behind by before older notices of a plan are dropped. */
const MAX_QUEUED = 1000;

/** Only the latest notice of each plan, in the order of those latest notices. */
const latestPerPlan = (queued: readonly PlanWithTiers[]): PlanWithTiers[] => {
  const latest = new Map<string, PlanWithTiers>();
  for (const plan of queued) {
    latest.delete(plan.id);
    latest.set(plan.id, plan);
  }
  return [...latest.values()];
};

export const planUpdates = (
  projector: Pick<Projector, "onPlanChanged">,
  planId: string | null,
  maxQueued = MAX_QUEUED,
): AsyncIterableIterator<PlanWithTiers> & { return(): Promise<IteratorResult<PlanWithTiers>> } => {
  let queued: PlanWithTiers[] = [];
  let limit = maxQueued;
  const waiting: ((result: IteratorResult<PlanWithTiers>) => void)[] = [];
  let finished = false;

  const unlisten = projector.onPlanChanged((plan) => {
    if (planId !== null && plan.id !== planId) return;
    const reader = waiting.shift();
    if (reader) return reader({ value: plan, done: false });
    if (queued.push(plan) <= limit) return;
    // Each notice is a whole plan, so a plan's older notices are the ones to drop: the
    // subscriber still gets every plan's final state. Dropping the oldest notices instead
    // would lose plans whose last change is old, when one queue serves all plans. Beyond
    // one notice per plan nothing is dropped (the catalog bounds the queue); the limit
    // grows so that compacting stays linear.
    queued = latestPerPlan(queued);
    limit = Math.max(maxQueued, queued.length * 2);
  });

  const end = (): Promise<IteratorResult<PlanWithTiers>> => {
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
      const plan = queued.shift();
      if (plan) return Promise.resolve({ value: plan, done: false });
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
