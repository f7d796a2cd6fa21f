/**
 * Time and ids as ports, so that the domain and the tests get them as data.
 * @module
 */

/** The current time as ISO 8601 UTC. */
export type Clock = () => string;
/** A new, unique id. */
export type NewId = () => string;

export const systemClock: Clock = () => new Date().toISOString();
export const randomId: NewId = () => crypto.randomUUID();
