/**
 * Reconcile on a schedule (RECONCILE_INTERVAL): a run, then one every interval, while
 * `signal` is not aborted. The consumer app runs it under a lease of its own, so one
 * process at a time reconciles. Each run's outcome goes to the metrics: when it ran, how
 * much drift it found, repaired and left.
 * @module
 */
import type { Metrics } from "../ports/metrics.ts";
import { sleep } from "../shared/sleep.ts";
import { reconcile, type ReconcileReport } from "./run.ts";
import type { ReconcileDeps } from "./run_context.ts";

/** The lease's name, beside the outbox's. */
export const RECONCILE_LEASE = "reconcile";

export const reconcileMetrics = (metrics: Metrics) => {
  const lastRun = metrics.gauge(
    "reconcile_last_run_timestamp_seconds",
    "When the last scheduled reconcile run ended (Unix seconds).",
  );
  const duration = metrics.gauge("reconcile_last_run_duration_seconds", "How long it took.");
  const found = metrics.gauge("reconcile_drift_found", "Drift the last run found, by kind.");
  const repaired = metrics.gauge(
    "reconcile_drift_repaired",
    "Drift the last run repaired, by kind.",
  );
  const remaining = metrics.gauge("reconcile_drift_remaining", "Drift the last run left, by kind.");
  const runs = metrics.counter("reconcile_runs_total", "Scheduled reconcile runs, by outcome.");
  return {
    ran: (report: ReconcileReport) => {
      lastRun.set(Math.floor(Date.now() / 1000));
      duration.set(report.seconds);
      for (const kind of ["product", "price", "customer", "subscription"]) {
        const drifts = report.drifts.filter((d) => d.kind === kind);
        const fixed = drifts.filter((d) => d.outcome.status === "repaired").length;
        found.set(drifts.length, { kind });
        repaired.set(fixed, { kind });
        remaining.set(drifts.length - fixed, { kind });
      }
      runs.inc({ outcome: report.remaining === 0 ? "in_line" : "drift_remains" });
    },
    failed: () => runs.inc({ outcome: "failed" }),
  };
};

export const reconcileEvery = async (
  deps: ReconcileDeps,
  { intervalMs, metrics, signal }: { intervalMs: number; metrics: Metrics; signal: AbortSignal },
): Promise<void> => {
  const recorded = reconcileMetrics(metrics);
  while (!signal.aborted) {
    try {
      const report = await reconcile(deps, { signal });
      recorded.ran(report);
      deps.logger.info("reconcile run done", {
        runId: report.runId,
        found: report.found,
        repaired: report.repaired,
        remaining: report.remaining,
        seconds: report.seconds,
      });
    } catch (error) {
      if (signal.aborted) return;
      recorded.failed();
      deps.logger.error("reconcile run failed", { error });
    }
    await sleep(intervalMs, signal);
  }
};
