// The product API's /graphql endpoint: GraphQL over HTTP (graphql-http), GraphQL over
// WebSocket (graphql-ws), and GraphiQL for a browser. One schema, one set of limits and
// one error policy for both transports.
import { GraphQLError, parse, specifiedRules, validate } from "graphql";
import { createHandler } from "graphql-http/lib/use/fetch";
import { makeServer } from "graphql-ws";
import type { Metrics } from "../../application/metrics.ts";
import { noMetrics } from "../../application/metrics.ts";
import { bearerChecker } from "./auth.ts";
import { apiError, publicError } from "./errors.ts";
import { graphiqlResponse, wantsGraphiql } from "./graphiql.ts";
import { DEFAULT_QUERY_LIMITS, queryLimitRules, type QueryLimits } from "./limits.ts";
import { type OperationContext, type ResolverDeps, resolvers } from "./resolvers.ts";
import { productSchema } from "./schema.ts";
import { type SocketExtra, webSocketSessions } from "./websocket.ts";

export type Limits = QueryLimits & {
  /** Largest HTTP request body, and longest WebSocket message (default 100 KiB). */
  maxBodyBytes: number;
  /** Most operations running at once on one WebSocket (default 100). */
  maxOperationsPerSocket: number;
};

export const DEFAULT_LIMITS: Limits = {
  ...DEFAULT_QUERY_LIMITS,
  maxBodyBytes: 100 * 1024,
  maxOperationsPerSocket: 100,
};

export type GraphQLServerOptions = ResolverDeps & {
  /** PRODUCT_API_TOKEN: mutations need `Authorization: Bearer <token>`. */
  token: string;
  limits?: Partial<Limits>;
  metrics?: Metrics;
};

export type GraphQLServer = {
  /** Answers requests for /graphql (HTTP, WebSocket upgrade, GraphiQL); null for other paths. */
  handle(request: Request): Promise<Response | null>;
  /** Closes the open WebSockets. */
  close(): void;
};

export const GRAPHQL_PATH = "/graphql";

const jsonError = (status: number, message: string, code: string, requestId: string) =>
  new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId },
  });

/** The body, or null when it is longer than `max` bytes (read no further than that). */
const readAtMost = async (
  request: Request,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | null> => {
  if (Number(request.headers.get("content-length") ?? 0) > max) return null;
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.length;
    if (total > max) return null; // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  const body = new Uint8Array(total);
  chunks.reduce((at, chunk) => (body.set(chunk, at), at + chunk.length), 0);
  return body;
};

// A caller's request id is kept when it is a plain token; anything else gets a new one.
const requestIdOf = (request: Request) => {
  const given = request.headers.get("x-request-id");
  return given && /^[\w.-]{1,100}$/.test(given) ? given : crypto.randomUUID();
};

export const graphqlServer = (options: GraphQLServerOptions): GraphQLServer => {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.logger.with({ component: "graphql" });
  const metrics = options.metrics ?? noMetrics;
  const requests = metrics.counter("graphql_requests_total", "GraphQL HTTP requests by status");
  const schema = productSchema(resolvers(options));
  const limitRules = queryLimitRules(limits);
  const authenticate = bearerChecker(options.token);
  const contexts = new WeakMap<Request, OperationContext>();

  const http = createHandler<OperationContext>({
    schema,
    validationRules: limitRules,
    context: (request) => contexts.get(request.raw)!,
    onOperation: (request, _args, result) => {
      if (!result.errors) return;
      const requestLog = log.with({ requestId: contexts.get(request.raw)?.requestId });
      return { ...result, errors: result.errors.map((error) => publicError(error, requestLog)) };
    },
  });

  const ws = makeServer<Record<string, unknown>, SocketExtra>({
    onSubscribe: (ctx, _id, payload) => {
      if (Object.keys(ctx.subscriptions).length > limits.maxOperationsPerSocket) {
        return [apiError("BAD_USER_INPUT", "too many operations at once on this connection")];
      }
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        if (error instanceof GraphQLError) return [error];
        throw error;
      }
      const errors = validate(schema, document, [...specifiedRules, ...limitRules]);
      if (errors.length > 0) return errors;
      const param = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      const authorization = ctx.extra.authorization ?? (typeof param === "string" ? param : null);
      const contextValue: OperationContext = {
        requestId: crypto.randomUUID(),
        authentication: authenticate(authorization),
      };
      return {
        schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue,
      };
    },
    onNext: (_ctx, _id, _payload, args, result) => {
      if (!result.errors) return;
      const opLog = log.with({ requestId: (args.contextValue as OperationContext).requestId });
      return {
        ...result,
        errors: result.errors.map((error) => publicError(error, opLog).toJSON()),
      };
    },
    onError: (_ctx, _id, _payload, errors) => errors.map((e) => publicError(e, log).toJSON()),
  });
  const sessions = webSocketSessions(ws, {
    maxMessageLength: limits.maxBodyBytes,
    onError: (error) => log.error("WebSocket session failed", { error }),
  });

  const handle = async (request: Request): Promise<Response | null> => {
    const url = new URL(request.url);
    if (url.pathname !== GRAPHQL_PATH) return null;
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return sessions.accept(request);
    }
    if (wantsGraphiql(request, url)) return graphiqlResponse();
    const requestId = requestIdOf(request);
    const body = await readAtMost(request, limits.maxBodyBytes);
    if (body === null) {
      requests.inc({ status: "413" });
      return jsonError(
        413,
        `the request body is larger than ${limits.maxBodyBytes} bytes`,
        "BAD_USER_INPUT",
        requestId,
      );
    }
    const buffered = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : body,
    });
    contexts.set(buffered, {
      requestId,
      authentication: authenticate(request.headers.get("authorization")),
    });
    let response: Response;
    try {
      response = await http(buffered);
    } catch (error) {
      log.error("GraphQL request failed", { error, requestId });
      response = jsonError(500, "Internal server error", "INTERNAL_SERVER_ERROR", requestId);
    }
    response.headers.set("x-request-id", requestId);
    requests.inc({ status: String(response.status) });
    return response;
  };

  return { handle, close: sessions.closeAll };
};
