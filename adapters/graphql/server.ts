/**
 * The product API's /graphql endpoint: GraphQL over HTTP (graphql-http), GraphQL over
 * WebSocket (graphql-ws), and GraphiQL for a browser. One schema, one set of limits and
 * one error policy for both transports. Every operation needs the token: a wrong one, or
 * none, refuses the whole operation. With `publicReads` (PRODUCT_API_PUBLIC_READS) queries
 * and subscriptions may go without one; the resolvers still refuse mutations and client
 * data. The GraphiQL page and its files load without a token.
 * @module
 */
import { GraphQLError, parse, specifiedRules, validate } from "graphql";
import { createHandler } from "graphql-http/lib/use/fetch";
import { makeServer } from "graphql-ws";
import type { Metrics } from "../../application/ports/metrics.ts";
import { noMetrics } from "../../application/ports/metrics.ts";
import { readAtMost } from "../http/body.ts";
import {
  type Authentication,
  bearerChecker,
  MISSING_TOKEN_MESSAGE,
  WRONG_TOKEN_MESSAGE,
} from "./auth.ts";
import { apiError, publicError } from "./errors.ts";
import { connectionResolvers } from "./connections.ts";
import {
  GRAPHIQL_ASSETS_PATH,
  graphiqlAsset,
  graphiqlResponse,
  wantsGraphiql,
} from "./graphiql.ts";
import { DEFAULT_QUERY_LIMITS, queryLimitRules, type QueryLimits } from "./limits.ts";
import { listSizes } from "./list_sizes.ts";
import { type OperationContext, type ResolverDeps, resolvers } from "./resolvers.ts";
import { productSchema } from "./schema.ts";
import { type SocketExtra, webSocketSessions } from "./websocket.ts";

export type Limits = QueryLimits & {
  /** Largest HTTP request body, and longest WebSocket message (default 100 KiB). */
  maxBodyBytes: number;
  /**
   * Most operations (subscriptions, and queries in flight) at once on one WebSocket
   * (PRODUCT_API_MAX_SUBSCRIPTIONS_PER_SOCKET, default 100).
   */
  maxOperationsPerSocket: number;
  /** Most WebSockets open at once in this process (PRODUCT_API_MAX_SOCKETS, default 1,000). */
  maxSockets: number;
  /** Unsent bytes a WebSocket may hold before its next message waits (default 256 KiB). */
  maxBufferedBytes: number;
  /** How long a message may wait for a client that does not read, before it is closed (30 s). */
  slowClientMs: number;
};

export const DEFAULT_LIMITS: Limits = {
  ...DEFAULT_QUERY_LIMITS,
  maxBodyBytes: 100 * 1024,
  maxOperationsPerSocket: 100,
  maxSockets: 1000,
  maxBufferedBytes: 256 * 1024,
  slowClientMs: 30_000,
};

export type GraphQLServerOptions = ResolverDeps & {
  /** PRODUCT_API_TOKEN: every operation needs `Authorization: Bearer <token>`. */
  token: string;
  /** PRODUCT_API_PUBLIC_READS: queries and subscriptions of the catalog need no token. */
  publicReads?: boolean;
  limits?: Partial<Limits>;
  metrics?: Metrics;
};

export type GraphQLServer = {
  /** Answers /graphql (HTTP, WebSocket, GraphiQL and its files); null for other paths. */
  handle(request: Request): Promise<Response | null>;
  /** Closes the open WebSockets. */
  close(): void;
  /** The WebSockets held, and the bytes they have not sent yet. */
  sockets(): { open: number; bufferedBytes: number };
};

export const GRAPHQL_PATH = "/graphql";

const jsonError = (
  status: number,
  message: string,
  code: string,
  requestId: string,
  headers: Record<string, string> = {},
) =>
  new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "x-request-id": requestId,
      ...headers,
    },
  });

/** The body, or null when it is longer than `max` bytes (read no further than that). */
const bodyOf = (request: Request, max: number) =>
  Number(request.headers.get("content-length") ?? 0) > max
    ? Promise.resolve(null)
    : readAtMost(request.body, max);

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
  const slowClosed = metrics.counter(
    "graphql_ws_slow_clients_total",
    "WebSockets closed (4413) for not reading what they were sent",
  );
  const publicReads = options.publicReads ?? false;
  /** Refuses an operation without a token unless reads are public (mutations check later). */
  const refused = (authentication: Authentication) =>
    authentication === "wrong"
      ? WRONG_TOKEN_MESSAGE
      : authentication === "missing" && !publicReads
      ? MISSING_TOKEN_MESSAGE
      : null;
  const { view, position } = options.projector;
  const fields = resolvers(options);
  const paging = connectionResolvers(view);
  const schema = productSchema({ ...fields, Query: { ...fields.Query, ...paging.Query } });
  const limitRules = queryLimitRules(limits, listSizes(view, position));
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
        return [apiError(
          "BAD_USER_INPUT",
          `too many operations at once on this connection (at most ${limits.maxOperationsPerSocket})`,
          "TooManyOperations",
        )];
      }
      const param = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      const authorization = ctx.extra.authorization ?? (typeof param === "string" ? param : null);
      const authentication = authenticate(authorization);
      const refusal = refused(authentication);
      if (refusal) return [apiError("UNAUTHENTICATED", refusal)];
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        if (error instanceof GraphQLError) return [error];
        throw error;
      }
      const errors = validate(schema, document, [...specifiedRules, ...limitRules]);
      if (errors.length > 0) return errors;
      const contextValue: OperationContext = { requestId: crypto.randomUUID(), authentication };
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
    maxSockets: limits.maxSockets,
    maxBufferedBytes: limits.maxBufferedBytes,
    slowClientMs: limits.slowClientMs,
    onError: (error) => log.error("WebSocket session failed", { error }),
    onTooSlow: (bufferedBytes) => {
      slowClosed.inc();
      log.warn("closed a WebSocket whose client does not read (4413)", { bufferedBytes });
    },
  });

  const handle = async (request: Request): Promise<Response | null> => {
    const url = new URL(request.url);
    if (url.pathname.startsWith(GRAPHIQL_ASSETS_PATH) && request.method === "GET") {
      return await graphiqlAsset(url.pathname.slice(GRAPHIQL_ASSETS_PATH.length));
    }
    if (url.pathname !== GRAPHQL_PATH) return null;
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return sessions.accept(request);
    }
    if (wantsGraphiql(request, url)) return graphiqlResponse();
    const requestId = requestIdOf(request);
    const authentication = authenticate(request.headers.get("authorization"));
    const refusal = refused(authentication);
    if (refusal) {
      requests.inc({ status: "401" });
      return jsonError(401, refusal, "UNAUTHENTICATED", requestId, {
        "www-authenticate": authentication === "wrong" ? 'Bearer error="invalid_token"' : "Bearer",
      });
    }
    const body = await bodyOf(request, limits.maxBodyBytes);
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
    contexts.set(buffered, { requestId, authentication });
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

  return { handle, close: sessions.closeAll, sockets: sessions.stats };
};
