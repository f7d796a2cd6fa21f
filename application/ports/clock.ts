// Time and ids as ports, so the domain and tests get them as data.

/** The current time as ISO 8601 UTC. */
export type Clock = () => string;
export type NewId = () => string;

export const systemClock: Clock = () => new Date().toISOString();
export const randomId: NewId = () => crypto.randomUUID();

/** A clock that starts at `start` and moves on by `stepMs` at each reading. */
export const steppingClock = (start: string, stepMs = 1000): Clock => {
  let next = Date.parse(start);
  return () => {
    const now = new Date(next).toISOString();
    next += stepMs;
    return now;
  };
};

/** Ids "<prefix>-1", "<prefix>-2", … for tests that must know them in advance. */
export const sequentialIds = (prefix = "id"): NewId => {
  let n = 0;
  return () => `${prefix}-${++n}`;
};

/**
 * A UUID (version 8, RFC 9562) derived from a name: the same name always gives the same
 * id, so an object created from an outside id (a Stripe event, a checkout session) is
 * created once however often that id comes in.
 */
export const nameBasedId = async (namespace: string, name: string): Promise<string> => {
  const bytes = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${namespace}:${name}`)),
  ).slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
};
