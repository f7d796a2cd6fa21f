// The table `deno task soak` prints (tests/apps/dev/soak.ts): the first and the last minutes
// of the run side by side, as docs/benchmarks.md ("Soak") shows them.

/** Memory and the lease's renewals so far, sampled during the run. */
export type Sample = { atS: number; rssMiB: number; renewals: number; renewalSeconds: number };
/** One request: when it was due (seconds into the run), how long it took, and whether it succeeded. */
export type Call = { atS: number; ms: number; ok: boolean };

export type SoakRun = {
  /** What ran, in a few words. */
  setup: string;
  totalS: number;
  windowS: number;
  sampleMs: number;
  samples: Sample[];
  calls: { webhooks: Call[]; queries: Call[]; mutations: Call[] };
  lease: { kept: number; last: number };
  exitCode: number;
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
};

export const soakReport = (run: SoakRun): string => {
  const { samples, calls, lease } = run;
  const within = <T extends { atS: number }>(rows: T[], which: "first" | "last") => {
    const [from, to] = which === "first"
      ? [0, run.windowS]
      : [run.totalS - run.windowS, run.totalS + 60];
    return rows.filter((r) => r.atS >= from && r.atS <= to);
  };
  const latency = (rows: Call[], which: "first" | "last") => {
    const picked = within(rows, which);
    const ms = picked.filter((r) => r.ok).map((r) => r.ms);
    const failed = picked.length - ms.length;
    return `${percentile(ms, 0.5).toFixed(1)} / ${percentile(ms, 0.99).toFixed(1)}` +
      (failed ? ` (${failed} failed)` : "");
  };
  const renewalMs = (which: "first" | "last") => {
    const picked = within(samples, which);
    const [a, b] = [picked[0], picked.at(-1)];
    if (!a || !b || b.renewals === a.renewals) return "no renewal in the window";
    const mean = ((b.renewalSeconds - a.renewalSeconds) / (b.renewals - a.renewals)) * 1000;
    return `${mean.toFixed(1)} ms (${b.renewals - a.renewals} renewals)`;
  };
  const mib = (which: "first" | "last") =>
    within(samples, which).map((s) => s.rssMiB.toFixed(0)).join(" → ");
  const row = (name: string, first: string, last: string) => `| ${name} | ${first} | ${last} |`;
  const failures = (rows: Call[]) => rows.filter((r) => !r.ok).length;
  const rss = samples.map((s) => s.rssMiB);
  return [
    `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores; ${run.setup}; ` +
    `load average at the end ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
    row("", `first ${run.windowS} s`, `last ${run.windowS} s`),
    "| --- | --- | --- |",
    row(`RSS of the dev process, MiB (every ${run.sampleMs / 1000} s)`, mib("first"), mib("last")),
    row("lease renewal, mean", renewalMs("first"), renewalMs("last")),
    row("webhook p50 / p99 ms", latency(calls.webhooks, "first"), latency(calls.webhooks, "last")),
    row(
      "GraphQL query p50 / p99 ms",
      latency(calls.queries, "first"),
      latency(calls.queries, "last"),
    ),
    row(
      "createPlan p50 / p99 ms",
      latency(calls.mutations, "first"),
      latency(calls.mutations, "last"),
    ),
    `RSS ${rss[0]!.toFixed(0)} MiB at the start, ${rss.at(-1)!.toFixed(0)} MiB at the end, ` +
    `${Math.max(...rss).toFixed(0)} MiB at most; every 30 s: ` +
    samples.filter((_, i) => i % Math.round(30_000 / run.sampleMs) === 0)
      .map((s) => s.rssMiB.toFixed(0)).join(" → ") +
    ".",
    `Sent: ${calls.webhooks.length} webhooks (${failures(calls.webhooks)} failed), ` +
    `${calls.queries.length} queries (${failures(calls.queries)} failed), ` +
    `${calls.mutations.length} mutations (${failures(calls.mutations)} failed).`,
    `Lease stream at the end: ${lease.kept} events kept, last revision ${lease.last}. ` +
    `deno task dev exited with ${run.exitCode}.`,
  ].join("\n");
};
