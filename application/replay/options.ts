/**
 * The options of `deno task replay`, checked before anything is opened.
 * @module
 */

export type ReplayOptions = {
  mode: "rebuild" | "stream" | "verify" | "help";
  streamId?: string;
  /** Epoch ms: only events recorded at or before it count. */
  asOf?: number;
  /** The --as-of text as given, for the report. */
  asOfText?: string;
  json: boolean;
};

export const USAGE = `Usage: deno task replay [options]

Rebuilds every projection from the event streams and prints what it holds.

Options:
  --stream <id>      print one stream's events, their metadata and the state after each
  --as-of <time>     only events recorded at or before <time> (ISO 8601 with a zone,
                     e.g. 2025-01-15T10:00:00Z); with or without --stream
  --verify           compare a fresh rebuild with the stored projections (each product API's
                     DATA_DIR/read_model-<port>.sqlite, up to its checkpoint); exit 1 listing
                     every drift
  --json             machine-readable output on stdout
  -h, --help         this text

The event store is the one the apps use: EVENTSTORE_CONNECTION_STRING, else the SQLite
file under DATA_DIR (default ./data). Replay changes nothing in either store; a product API
holds its read model locked while it runs, so stop it (or copy DATA_DIR) before --verify.
Exit codes: 0 done, 1 drift or failure, 2 bad options.`;

export class UsageError extends Error {
  override name = "UsageError";
}

// A date and a time with its zone: a time without one would be read in the local zone.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

// Date.parse rolls 2025-02-30 over into March: the day must exist in its month.
const realDate = (text: string) => {
  const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
};

const parseInstant = (text: string): number => {
  const ms = ISO_INSTANT.test(text) && realDate(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--as-of needs an ISO 8601 time with a zone, e.g. 2025-01-15T10:00:00Z, got "${text}"`,
    );
  }
  return ms;
};

/** The options in `args`; throws UsageError saying what is wrong. */
export const parseReplayOptions = (args: readonly string[]): ReplayOptions => {
  let streamId: string | undefined;
  let asOfText: string | undefined;
  let verify = false;
  let json = false;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const valueOf = (): string => {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) {
        throw new UsageError(`${name} needs a value`);
      }
      return value;
    };
    const once = <T>(current: T | undefined, value: T): T => {
      if (current !== undefined) throw new UsageError(`${name} is given twice`);
      return value;
    };
    const flag = () => {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
    };
    switch (name) {
      case "--stream":
        streamId = once(streamId, valueOf());
        break;
      case "--as-of":
        asOfText = once(asOfText, valueOf());
        break;
      case "--verify":
        flag();
        verify = true;
        break;
      case "--json":
        flag();
        json = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new UsageError(
          arg.startsWith("-") ? `unknown option ${name}` : `unexpected argument "${arg}"`,
        );
    }
  }
  if (help) return { mode: "help", json };
  if (verify && streamId !== undefined) {
    throw new UsageError("--verify checks every projection; it cannot be combined with --stream");
  }
  if (verify && asOfText !== undefined) {
    throw new UsageError(
      "--verify compares with the projections as stored now; it cannot be combined with --as-of",
    );
  }
  const asOf = asOfText === undefined ? undefined : parseInstant(asOfText);
  const mode = verify ? "verify" : streamId !== undefined ? "stream" : "rebuild";
  return { mode, streamId, asOf, asOfText, json };
};
