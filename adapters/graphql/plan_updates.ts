// The onPlanUpdated source stream: the projector's plan notices as an async iterator.
// Hand-written rather than an async generator, because a generator waiting for the next
// notice cannot be returned from: a client that unsubscribes would leave it hanging.
import type { PlanWithTiers } from "../../application/projections/fold.ts";
import type { Projector } from "../../application/projections/projector.ts";

/** Notices a slow subscriber may fall behind by; beyond it the oldest are dropped. */
const MAX_QUEUED = 1000;

export const planUpdates = (
  projector: Pick<Projector, "onPlanChanged">,
  planId: string | null,
): AsyncIterableIterator<PlanWithTiers> & { return(): Promise<IteratorResult<PlanWithTiers>> } => {
  const queued: PlanWithTiers[] = [];
  const waiting: ((result: IteratorResult<PlanWithTiers>) => void)[] = [];
  let finished = false;

  const unlisten = projector.onPlanChanged((plan) => {
    if (planId !== null && plan.id !== planId) return;
    const reader = waiting.shift();
    if (reader) return reader({ value: plan, done: false });
    // Each notice is a whole plan: dropping an old one loses no final state.
    if (queued.push(plan) > MAX_QUEUED) queued.shift();
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
