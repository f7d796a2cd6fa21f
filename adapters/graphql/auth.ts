/**
 * The bearer token check. Both sides are hashed to the same length before a constant-time
 * compare, so neither the token's content nor its length leaks through response timing.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

export type Authentication = "ok" | "missing" | "wrong";

const digest = (text: string) => createHash("sha256").update(text).digest();

export const bearerChecker = (token: string) => {
  const expected = digest(token);
  /** Checks an Authorization header (or connection parameter) value. */
  return (authorization: string | null | undefined): Authentication => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
    if (!match) return authorization ? "wrong" : "missing";
    return timingSafeEqual(digest(match[1]!), expected) ? "ok" : "wrong";
  };
};

export const WRONG_TOKEN_MESSAGE = "the bearer token is not valid";

/** Why an operation without a token was refused (PRODUCT_API_PUBLIC_READS not set). */
export const MISSING_TOKEN_MESSAGE =
  'every operation needs an Authorization header: Bearer <PRODUCT_API_TOKEN> (over WebSocket: the connection_init payload { Authorization: "Bearer …" })';

/** Why `what` (a mutation, or a private query such as clients) was refused. */
export const unauthenticatedMessage = (
  what: string,
  authentication: Exclude<Authentication, "ok">,
): string =>
  authentication === "wrong"
    ? WRONG_TOKEN_MESSAGE
    : `${what} needs an Authorization header: Bearer <PRODUCT_API_TOKEN> (over WebSocket: the connection_init payload { authorization: "Bearer …" })`;
