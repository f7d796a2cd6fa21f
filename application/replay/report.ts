/**
 * What replay prints: text for people, JSON (--json) for tools. Pure: strings out.
 * @module
 */
import type { Cause, RecordedEvent } from "../ports/event_store.ts";
import type { Rebuilt } from "./rebuild.ts";
import type { StreamHistory } from "./streams.ts";
import { DOCUMENT, type Verified } from "./verify.ts";

const n = (value: number) => value.toLocaleString("en");
const asOfNote = (asOfText?: string) => asOfText === undefined ? "" : ` as of ${asOfText}`;

export const describeCause = (cause: Cause | undefined): string => {
  switch (cause?.kind) {
    case "graphql":
      return `GraphQL request ${cause.requestId}${cause.operation ? ` (${cause.operation})` : ""}`;
    case "stripe":
      return `Stripe event ${cause.stripeEventId} (${cause.stripeEventType})`;
    case "bus":
      return `bus message ${cause.topic}[${cause.partition}]@${cause.offset}` +
        (cause.messageId ? ` (${cause.messageId})` : "");
    case "system":
      return `system: ${cause.reason}`;
    case "reconcile":
      return `reconcile run ${cause.runId}`;
    default:
      // Written by an older or foreign writer: show it as it is rather than guess.
      return JSON.stringify(cause) ?? "(none)";
  }
};

const indent = (text: string, by: string) => text.split("\n").join(`\n${by}`);

const eventText = (event: RecordedEvent, state: unknown, folded: boolean): string => {
  const { metadata } = event;
  const lines = [
    `#${event.revision} ${event.type}  recorded ${event.recordedAt}  position ${event.position}`,
    `    cause        ${describeCause(metadata?.cause)}`,
    `    correlation  ${metadata?.correlationId ?? "(none)"}`,
    `    causation    ${metadata?.causationId ?? "(none)"}`,
    `    event id     ${metadata?.eventId ?? "(none)"}`,
    `    data         ${JSON.stringify(event.data)}`,
  ];
  if (folded) lines.push(`    state after  ${indent(JSON.stringify(state, null, 2), "    ")}`);
  return lines.join("\n");
};

export const streamText = (history: StreamHistory, asOfText?: string): string => {
  const { streamId, kind, steps } = history;
  const what = kind === null ? "not an aggregate: events only" : kind;
  const head = `Stream ${streamId} (${what}): ${n(steps.length)} event${
    steps.length === 1 ? "" : "s"
  }${asOfNote(asOfText)}`;
  const body = steps.map((step) => eventText(step.event, step.state, kind !== null));
  return [head, ...body].join("\n\n") + "\n";
};

export const streamJson = (history: StreamHistory, asOfText?: string) => ({
  streamId: history.streamId,
  aggregate: history.kind,
  asOf: asOfText ?? null,
  events: history.steps.map(({ event, state }) => ({
    revision: event.revision,
    position: event.position,
    type: event.type,
    recordedAt: event.recordedAt,
    data: event.data,
    metadata: event.metadata,
    ...(history.kind === null ? {} : { stateAfter: state }),
  })),
  state: history.kind === null ? null : history.state,
});

export const rebuildJson = (rebuilt: Rebuilt, asOfText?: string) => ({
  asOf: asOfText ?? null,
  plans: rebuilt.counts.plans,
  priceTiers: rebuilt.counts.priceTiers,
  clients: rebuilt.counts.clients,
  planSubscriptions: rebuilt.counts.planSubscriptions,
  paymentConfirmations: rebuilt.counts.paymentConfirmations,
  events: rebuilt.events,
  streams: rebuilt.streams,
  deleted: rebuilt.deleted,
  position: rebuilt.position,
});

export const rebuildText = (rebuilt: Rebuilt, asOfText?: string): string => {
  const { counts, deleted } = rebuilt;
  const rows: [string, number, string?][] = [
    ["plans", counts.plans, `${n(deleted.plans)} deleted`],
    ["price tiers", counts.priceTiers, `${n(deleted.priceTiers)} archived`],
    ["clients", counts.clients],
    ["plan subscriptions", counts.planSubscriptions],
    ["payment confirmations", counts.paymentConfirmations],
    ["events", rebuilt.events],
    ["streams", rebuilt.streams],
  ];
  const width = Math.max(...rows.map(([, value]) => n(value).length));
  return [
    `Rebuilt every projection${asOfNote(asOfText)}, up to position ${rebuilt.position}:`,
    ...rows.map(([label, value, note]) =>
      `  ${label.padEnd(22)}${n(value).padStart(width)}${note ? `  (${note})` : ""}`
    ),
  ].join("\n") + "\n";
};

const shown = (value: unknown) => value === undefined ? "(missing)" : JSON.stringify(value);

/** The outcome of --verify for one stored read model, named by its file. */
export type VerifyReport = Verified & { file: string };

export const verifyText = ({ file, drifts, rebuilt, checkpoint }: VerifyReport): string => {
  const scope = `a rebuild of ${n(rebuilt.events)} events up to its checkpoint ${checkpoint}`;
  if (drifts.length === 0) return `${file}: no drift: it matches ${scope}.\n`;
  return [
    `${file}: ${n(drifts.length)} drift${drifts.length === 1 ? "" : "s"} from ${scope}:`,
    ...drifts.map((d) =>
      d.field === DOCUMENT
        ? `  ${d.collection} ${d.id}: stored ${
          d.stored === undefined ? "(missing)" : "present"
        }, ` +
          `rebuilt ${d.rebuilt === undefined ? "(missing)" : "present"}`
        : `  ${d.collection} ${d.id} ${d.field}: stored ${shown(d.stored)}, rebuilt ${
          shown(d.rebuilt)
        }`
    ),
  ].join("\n") + "\n";
};

export const verifyJson = (reports: readonly VerifyReport[]) => ({
  ok: reports.every((report) => report.drifts.length === 0),
  readModels: reports.map(({ file, drifts, rebuilt, checkpoint }) => ({
    file,
    ok: drifts.length === 0,
    checkpoint,
    events: rebuilt.events,
    drifts: drifts.map((d) => ({
      collection: d.collection,
      id: d.id,
      field: d.field,
      stored: d.stored ?? null,
      rebuilt: d.rebuilt ?? null,
    })),
  })),
});
