/**
 * Keeps a read-model store up to date: follows the event store from the store's own
 * checkpoint, folds each event (fold.ts) into a pending batch and commits the batch with
 * its checkpoint in one transaction. So a crash loses at most an uncommitted batch, which
 * is projected again on restart, and an event at or below the checkpoint is never applied
 * twice. After each commit it tells listeners which plans changed (onPlanUpdated) and
 * wakes mutations waiting to read their own writes.
 * @module
 */
import type { EventStore, RecordedEvent } from "../ports/event_store.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import { type Metrics, noMetrics } from "../ports/metrics.ts";
import { checkpointEvent } from "../shared/checkpoint_event.ts";
import { type PlanWithTiers, planWithTiers, project, touchedPlanIds } from "./fold.ts";
import type {
  Checkpoint,
  PlanSubscriptionView,
  QueryView,
  ReadModelStore,
} from "../ports/read_model.ts";
import { overlay } from "./overlay.ts";

export type ProjectorStatus = "starting" | "catching up" | "live" | "stopped" | "failed";

export type Projector = {
  /** The committed documents: what queries read. */
  readonly view: QueryView;
  /** Global position of the last committed event. */
  position(): number;
  status(): ProjectorStatus;
  /** True once the committed position is at or past `position`; false after `timeoutMs`. */
  waitFor(position: number, timeoutMs: number): Promise<boolean>;
  /** Called after each commit with every plan changed in it, once per event that changed it. */
  onPlanChanged(listener: (plan: PlanWithTiers) => void): () => void;
  /** Called after each commit with every plan subscription changed in it, once per event. */
  onPlanSubscriptionChanged(listener: (subscription: PlanSubscriptionView) => void): () => void;
  /**
   * The events received from the store and not committed to the read model yet, from what
   * the projector holds (it reads nothing, so a scrape costs the store nothing); sets the
   * projection_lag_events and projection_caught_up gauges: call it when metrics are read.
   * While catching up, what the store holds beyond what was received is not counted:
   * projection_caught_up is 0 then.
   */
  measureLag(): Promise<number>;
  /** Resolves when stopped, rejects when the projection failed (the cause is logged too). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
};

export type ProjectorOptions = {
  store: EventStore;
  readModel: ReadModelStore;
  logger?: Logger;
  metrics?: Metrics;
  /**
   * Most events per read-model transaction (default 5,000). Big batches make a rebuild fast,
   * as each commit rewrites every index page its random ids touch; live, each page commits.
   */
  batchSize?: number;
};

type Waiter = {
  position: number;
  resolve: (reached: boolean) => void;
  timer: ReturnType<typeof setTimeout>;
};

export const startProjector = (
  { store, readModel, logger = silentLogger, metrics = noMetrics, batchSize = 5000 }:
    ProjectorOptions,
): Projector => {
  const log = logger.with({ component: "projector", subscriberId: readModel.subscriberId });
  const positionGauge = metrics.gauge(
    "projection_position",
    "Global position of the last event in the read model",
  );
  const projected = metrics.counter("projection_events_total", "Events folded into the read model");
  const lagGauge = metrics.gauge(
    "projection_lag_events",
    "Events received from the event store and not yet committed to the read model",
  );
  const caughtUpGauge = metrics.gauge(
    "projection_caught_up",
    "1 while the read model follows the event store live, 0 while it catches up or is stopped",
  );
  const aborter = new AbortController();
  const listeners = new Set<(plan: PlanWithTiers) => void>();
  const subscriptionListeners = new Set<(subscription: PlanSubscriptionView) => void>();
  let waiters: Waiter[] = [];
  let committed: Checkpoint = readModel.checkpoint();
  let status: ProjectorStatus = "starting";

  const pending = overlay(readModel);
  let pendingCheckpoint = committed;
  let pendingEvents = 0;
  let notices: PlanWithTiers[] = [];
  let subscriptionNotices: PlanSubscriptionView[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let failure: unknown;

  const settle = (reached: (w: Waiter) => boolean) => {
    const [done, rest] = [waiters.filter(reached), waiters.filter((w) => !reached(w))];
    waiters = rest;
    for (const waiter of done) {
      clearTimeout(waiter.timer);
      waiter.resolve(waiter.position <= committed.position);
    }
  };

  const flush = () => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (pendingCheckpoint.position === committed.position) return;
    readModel.commit(pending.changes(), pendingCheckpoint);
    committed = pendingCheckpoint;
    projected.inc({}, pendingEvents);
    positionGauge.set(committed.position);
    pending.clear();
    pendingEvents = 0;
    const sent = notices;
    notices = [];
    const sentSubscriptions = subscriptionNotices;
    subscriptionNotices = [];
    settle((w) => w.position <= committed.position);
    for (const plan of sent) {
      for (const listener of listeners) {
        try {
          listener(plan);
        } catch (error) {
          log.error("a plan listener failed", { error, planId: plan.id });
        }
      }
    }
    for (const subscription of sentSubscriptions) {
      for (const listener of subscriptionListeners) {
        try {
          listener(subscription);
        } catch (error) {
          log.error("a plan subscription listener failed", { error, id: subscription.id });
        }
      }
    }
  };

  const handle = (event: RecordedEvent) => {
    if (event.position <= pendingCheckpoint.position) return;
    const changes = project(pending.view, event);
    pending.apply(changes);
    pendingCheckpoint = {
      position: event.position,
      eventId: event.metadata.eventId,
      streamId: event.streamId,
      revision: event.revision,
    };
    pendingEvents++;
    // Snapshots only for someone listening: a rebuild of many events makes none.
    if (listeners.size > 0) {
      for (const planId of touchedPlanIds(changes)) {
        const plan = planWithTiers(pending.view, planId);
        if (plan) notices.push(plan);
      }
    }
    if (subscriptionListeners.size > 0) {
      for (const change of changes) {
        if (change.collection === "planSubscriptions") subscriptionNotices.push(change.doc);
      }
    }
    if (pendingEvents >= batchSize) flush();
    // Events of one page arrive without a macrotask in between: one commit per page.
    else flushTimer ??= setTimeout(flushOrFail, 0);
  };

  // Outside the subscription's own calls a failed commit stops it, to fail `done`.
  const flushOrFail = () => {
    try {
      flush();
    } catch (error) {
      failure ??= error;
      aborter.abort();
    }
  };

  // A checkpoint names an event; if the store holds another event there, this read model
  // was built from another store (a wiped or swapped data dir) and is rebuilt.
  const checkSameStore = async () => {
    const { position } = committed;
    if (position === 0) return;
    if ((await checkpointEvent(store, committed)).held) return;
    log.warn("the read model does not match the event store; rebuilding it", { position });
    readModel.reset();
    committed = pendingCheckpoint = readModel.checkpoint();
  };

  const run = async () => {
    try {
      await checkSameStore();
      // The event store resumes a subscriber from its own stored checkpoint: align it with
      // the read model's, which is the one committed with the documents.
      await store.storeCheckpoint(readModel.subscriberId, committed.position);
      status = "catching up";
      const subscription = store.subscribeAll({
        subscriberId: readModel.subscriberId,
        handler: handle,
        signal: aborter.signal,
        onCaughtUp: () => {
          flushOrFail();
          if (status === "catching up" && failure === undefined) {
            status = "live";
            log.info("read model caught up", { position: committed.position });
          }
        },
      });
      await subscription.done;
      if (failure === undefined) flush();
      if (failure !== undefined) throw failure;
      status = "stopped";
    } catch (error) {
      status = "failed";
      log.error("projection failed; it resumes from its checkpoint on restart", { error });
      throw error;
    } finally {
      clearTimeout(flushTimer);
      settle(() => true);
    }
  };
  const done = run();
  // Whoever holds the projector learns of a failure through `done` or `status()`.
  done.catch(() => {});

  return {
    view: readModel,
    position: () => committed.position,
    status: () => status,
    waitFor(position, timeoutMs) {
      if (position <= committed.position) return Promise.resolve(true);
      if (status === "stopped" || status === "failed") return Promise.resolve(false);
      return new Promise((resolve) => {
        const waiter: Waiter = {
          position,
          resolve,
          timer: setTimeout(() => settle((w) => w === waiter), timeoutMs),
        };
        waiters.push(waiter);
      });
    },
    onPlanChanged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onPlanSubscriptionChanged(listener) {
      subscriptionListeners.add(listener);
      return () => subscriptionListeners.delete(listener);
    },
    measureLag() {
      lagGauge.set(pendingEvents);
      caughtUpGauge.set(status === "live" ? 1 : 0);
      return Promise.resolve(pendingEvents);
    },
    done,
    async stop() {
      aborter.abort();
      await done.catch(() => {});
    },
  };
};
