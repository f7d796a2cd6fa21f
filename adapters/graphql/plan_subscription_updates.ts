/**
 * The onPlanSubscriptionUpdated source stream: the projector's plan subscription notices,
 * of one client or of all, as an async iterator that can be returned from while waiting.
 * A subscriber that falls far behind keeps each subscription's latest notice only.
 * @module
 */
import type { PlanSubscriptionView } from "../../application/ports/read_model.ts";
import type { Projector } from "../../application/projections/projector.ts";

const MAX_QUEUED = 1000;

type Updates = AsyncIterableIterator<PlanSubscriptionView> & {
  return(): Promise<IteratorResult<PlanSubscriptionView>>;
};

export const planSubscriptionUpdates = (
  projector: Pick<Projector, "onPlanSubscriptionChanged">,
  clientId: string | null,
  maxQueued = MAX_QUEUED,
): Updates => {
  let queued: PlanSubscriptionView[] = [];
  const waiting: ((result: IteratorResult<PlanSubscriptionView>) => void)[] = [];
  let finished = false;

  const unlisten = projector.onPlanSubscriptionChanged((subscription) => {
    if (clientId !== null && subscription.clientId !== clientId) return;
    const reader = waiting.shift();
    if (reader) return reader({ value: subscription, done: false });
    if (queued.push(subscription) <= maxQueued) return;
    const latest = new Map<string, PlanSubscriptionView>();
    for (const s of queued) latest.delete(s.id), latest.set(s.id, s);
    queued = [...latest.values()].slice(-maxQueued);
  });

  const end = (): Promise<IteratorResult<PlanSubscriptionView>> => {
    if (!finished) {
      finished = true;
      unlisten();
      queued = [];
      for (const reader of waiting.splice(0)) reader({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  };

  return {
    next() {
      const next = queued.shift();
      if (next) return Promise.resolve({ value: next, done: false });
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
