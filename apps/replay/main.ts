/**
 * `deno task replay`: rebuilds state from the event streams for auditors (see USAGE).
 * Reads the stores, writes nothing to them. Only DATA_DIR and EVENTSTORE_CONNECTION_STRING
 * are read from the environment, and no secret is ever printed.
 * @module
 */
import { basename } from "node:path";
import { ReadModelFileError } from "../../adapters/readmodel/sqlite.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import {
  parseReplayOptions,
  type ReplayOptions,
  USAGE,
  UsageError,
} from "../../application/replay/options.ts";
import { progressReporter } from "../../application/replay/progress.ts";
import { rebuild } from "../../application/replay/rebuild.ts";
import {
  rebuildJson,
  rebuildText,
  streamJson,
  streamText,
  verifyJson,
  verifyText,
} from "../../application/replay/report.ts";
import { streamHistory } from "../../application/replay/streams.ts";
import { verifyProjections } from "../../application/replay/verify.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { err, out } from "../terminal.ts";
import {
  NothingToReplay,
  type OpenedStore,
  openEventStore,
  openStoredReadModel,
  storedReadModelFiles,
} from "./stores.ts";

const json = (value: unknown) => out(JSON.stringify(value, null, 2) + "\n");

const progress = (opened: OpenedStore, upTo?: number) => {
  const reporter = progressReporter({
    write: err,
    isTerminal: Deno.stderr.isTerminal(),
    now: () => performance.now(),
  }, opened.count(upTo));
  let read = 0;
  return {
    onProgress: (p: { read: number }) => reporter.update(read = p.read),
    finish: () => reporter.finish(read),
  };
};

/** The exit code of one run. */
const run = async (
  options: ReplayOptions,
  config: Config,
  opened: OpenedStore,
): Promise<number> => {
  const store: EventStore = opened.store;
  switch (options.mode) {
    case "stream": {
      const streamId = options.streamId!;
      const events = await store.readStream(streamId);
      if (events.length === 0) {
        err(`replay: the event store has no stream ${streamId}\n`);
        return 1;
      }
      const history = streamHistory(streamId, events, options.asOf);
      if (options.json) json(streamJson(history, options.asOfText));
      else out(streamText(history, options.asOfText));
      return 0;
    }
    case "rebuild": {
      const bar = progress(opened);
      const rebuilt = await rebuild(store, { asOf: options.asOf, onProgress: bar.onProgress });
      bar.finish();
      if (options.json) json(rebuildJson(rebuilt, options.asOfText));
      else out(rebuildText(rebuilt, options.asOfText));
      return 0;
    }
    case "verify": {
      const reports = [];
      for (const path of storedReadModelFiles(config)) {
        const stored = openStoredReadModel(path);
        try {
          const bar = progress(opened, stored.checkpoint().position);
          const verified = await verifyProjections(store, stored, { onProgress: bar.onProgress });
          bar.finish();
          reports.push({ file: basename(path), ...verified });
        } finally {
          stored.close();
        }
      }
      if (options.json) json(verifyJson(reports));
      else out(reports.map(verifyText).join("\n"));
      return reports.every((report) => report.drifts.length === 0) ? 0 : 1;
    }
    case "help":
      out(USAGE + "\n");
      return 0;
  }
};

let options: ReplayOptions;
try {
  options = parseReplayOptions(Deno.args);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  err(`replay: ${error.message}\n\n${USAGE}\n`);
  Deno.exit(2);
}
if (options.mode === "help") {
  out(USAGE + "\n");
  Deno.exit(0);
}

let code = 1;
try {
  // dev: replay needs no secret, so none is asked for (and the made-up ones are never shown).
  const config = loadConfig({
    DATA_DIR: Deno.env.get("DATA_DIR"),
    EVENTSTORE_CONNECTION_STRING: Deno.env.get("EVENTSTORE_CONNECTION_STRING"),
  }, { dev: true });
  const opened = await openEventStore(config);
  try {
    code = await run(options, config, opened);
  } finally {
    await opened.close();
  }
} catch (error) {
  if (error instanceof Deno.errors.NotCapable) {
    err(
      `replay: ${error.message}\nreplay needs --allow-read and --allow-write on DATA_DIR ` +
        "(SQLite keeps its lock files there); with EVENTSTORE_CONNECTION_STRING also " +
        "--allow-net to the server and --allow-env (the gRPC client reads its GRPC_* settings)\n",
    );
  } else if (error instanceof ReadModelFileError) {
    err(
      `replay: ${error.message}\n--verify reads the product API's stored projections: stop the ` +
        "product API first, or point DATA_DIR at a copy of its data folder\n",
    );
  } else if (error instanceof ConfigError || error instanceof NothingToReplay) {
    err(`replay: ${error.message}\n`);
  } else {
    err(`replay: failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  code = 1;
}
Deno.exit(code);
