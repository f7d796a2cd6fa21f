// SIGTERM/SIGINT end a process that consumes gracefully: the message in hand finishes
// and is committed, then the consumers disconnect (the orchestrator's stop, or Ctrl-C).
const SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGINT"];

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then lets the process end on its own.
 * A second signal while stopping ends the process at once. Returns the unsubscriber.
 */
export const stopOnSignals = (stop: () => Promise<void>): () => void => {
  let stopping = false;
  const onSignal = () => {
    if (stopping) Deno.exit(130);
    stopping = true;
    stop().finally(remove);
  };
  const remove = () => {
    for (const signal of SIGNALS) Deno.removeSignalListener(signal, onSignal);
  };
  for (const signal of SIGNALS) Deno.addSignalListener(signal, onSignal);
  return remove;
};
