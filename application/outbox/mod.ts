/**
 * The outbox's mapping from recorded events to bus messages, for other flows: reconcile
 * turns a recorded event into the integration event outbound sync would have received.
 * @module
 */
export { outboxMessage } from "./messages.ts";
