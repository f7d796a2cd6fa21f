/**
 * The report of a reconcile run: text for people, JSON for machines, and the exit code.
 * @module
 */
import type { Found } from "./drift.ts";
import type { ReconcileReport } from "./run.ts";

/** 0 when in line afterwards (a dry run: when no drift was found), else 1. */
export const exitCodeOf = (report: ReconcileReport): number =>
  (report.dryRun ? report.found : report.remaining) === 0 ? 0 : 1;

const outcomeText = ({ outcome }: Found): string => {
  switch (outcome.status) {
    case "repaired":
      return "repaired";
    case "found":
      return "found";
    case "failed":
      return `FAILED: ${outcome.error}`;
    case "unrepairable":
      return `not repaired: ${outcome.reason}`;
  }
};

export const reportText = (report: ReconcileReport): string => {
  const { listed, nudges } = report;
  const lines = [
    `reconcile run ${report.runId}${report.dryRun ? " (dry run)" : ""}: ${
      report.seconds.toFixed(1)
    } s`,
    `  Stripe: ${listed.products} products, ${listed.prices} prices, ${listed.customers} customers, ${listed.subscriptions} subscriptions`,
    `  Nudges: ${nudges.plans} plans, ${nudges.priceTiers} price tiers, ${nudges.clients} clients, ${nudges.planSubscriptions} plan subscriptions`,
  ];
  if (report.events) {
    const e = report.events;
    lines.push(
      `  events since ${e.since}: ${e.listed} listed, ${e.recorded} recorded, ${e.duplicate} recorded before`,
    );
  }
  for (const drift of report.drifts) {
    const fields = drift.fields ? ` [${drift.fields.join(", ")}]` : "";
    lines.push(
      `  ${drift.kind} ${drift.type}${fields}: Nudges ${drift.nudgesId ?? "-"}, Stripe ${
        drift.stripeId ?? "-"
      }: ${outcomeText(drift)}`,
    );
  }
  if (report.ignored.length > 0) {
    lines.push(`  ${report.ignored.length} Stripe object(s) left alone (not Nudges' to import)`);
  }
  lines.push(
    report.dryRun
      ? `${report.found} drift(s) found, nothing repaired (dry run)`
      : `${report.found} drift(s) found, ${report.repaired} repaired, ${report.remaining} remain`,
  );
  return lines.join("\n") + "\n";
};

/** The report without the Stripe objects the drifts were found on. */
export const reportJson = (report: ReconcileReport) => ({
  ...report,
  drifts: report.drifts.map(({ object: _, ...drift }) => drift),
});
