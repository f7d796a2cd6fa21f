/**
 * The outbound flow's use case, for other flows: reconcile pushes what never reached
 * Stripe by making the very call outbound sync makes for the event that asked for it,
 * with the same idempotency key, so that a concurrent outbound call and a reconcile call
 * make one Stripe object between them.
 * @module
 */
export { applyOutbound } from "./handler.ts";
export { type OutboundDeps } from "./stripe_call.ts";
