/**
 * How failures read to API users: domain refusals and conflicts get a code in
 * extensions.code; anything unexpected is logged and masked, so no internal detail (or
 * secret) reaches a client.
 * @module
 */
import { GraphQLError } from "graphql";
import type { z } from "zod";
import { DomainError, type DomainErrorKind } from "../../domain/decider.ts";
import { ConcurrencyConflict } from "../../application/shared/command_handler.ts";
import type { Logger } from "../../application/ports/logger.ts";

export type ErrorCode =
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "UNAUTHENTICATED"
  | "INTERNAL_SERVER_ERROR";

const BY_KIND: Record<DomainErrorKind, ErrorCode> = {
  invalid: "BAD_USER_INPUT",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
};

export const apiError = (code: ErrorCode, message: string, reason?: string): GraphQLError =>
  new GraphQLError(message, { extensions: reason ? { code, reason } : { code } });

export const badInput = (error: z.ZodError, prefix: string): GraphQLError =>
  apiError(
    "BAD_USER_INPUT",
    error.issues.map((issue) => `${[prefix, ...issue.path].join(".")}: ${issue.message}`)
      .join("; "),
    "InvalidInput",
  );

const conflictMessage = ({ conflict, streamId }: ConcurrencyConflict): string =>
  typeof conflict.expected === "number"
    ? `${streamId} is at version ${conflict.actual}, not the expected version ${conflict.expected}; read it again and retry`
    : `${streamId} was changed by someone else at the same time; retry`;

const known = (error: Error): { code: ErrorCode; reason: string; message: string } | null => {
  if (error instanceof DomainError) {
    return { code: BY_KIND[error.kind], reason: error.code, message: error.message };
  }
  if (error instanceof ConcurrencyConflict) {
    return { code: "CONFLICT", reason: "StaleVersion", message: conflictMessage(error) };
  }
  return null;
};

/**
 * The error as the client may see it: GraphQL's own errors (syntax, validation, ours with a
 * code) as they are; domain refusals with their code; anything else masked and logged.
 */
export const publicError = (error: GraphQLError, log: Logger): GraphQLError => {
  const original = error.originalError;
  if (!original || original instanceof GraphQLError) return error;
  const at = {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
  };
  const mapped = known(original);
  if (mapped) {
    return new GraphQLError(mapped.message, {
      ...at,
      extensions: { code: mapped.code, reason: mapped.reason },
    });
  }
  log.error("unexpected error in a GraphQL operation", {
    error: original,
    stack: original.stack,
    path: error.path,
  });
  return new GraphQLError("Internal server error", {
    ...at,
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  });
};
