/**
 * Ids derived from names: the same name always gives the same id, so an object created
 * from an outside id (a Stripe event, a checkout session) is created once however often
 * that id comes in, and an effect recorded under a derived id is recognised when its
 * cause comes again.
 * @module
 */
import { createHash } from "node:crypto";

/**
 * A UUID (version 8, RFC 9562) derived from `namespace` and `name`.
 *
 * @example
 * ```ts
 * nameBasedId("plan", "prod_123") === nameBasedId("plan", "prod_123"); // true
 * ```
 */
export const nameBasedId = (namespace: string, name: string): string => {
  const bytes = createHash("sha256").update(`${namespace}:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
};
