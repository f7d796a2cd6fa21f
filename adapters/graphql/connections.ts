/**
 * Cursor connections (the contract's plansConnection, clientsConnection and
 * planSubscriptionsConnection): pages in creation order. A cursor is a document's rank in
 * the read model (application/ports/read_model.ts, Ranked), which later writes never
 * change: a new document ranks last, an update keeps its rank, so paging while writes
 * happen never skips or repeats one. The rank is the same in every product API process,
 * so a cursor from one works on another. Cursors are opaque to clients; one that this API
 * did not give for that connection is BAD_USER_INPUT.
 * @module
 */
import type { Collection, Filter, QueryView, Views } from "../../application/ports/read_model.ts";
import { type Authentication, unauthenticatedMessage } from "./auth.ts";
import { together } from "./batches.ts";
import { apiError } from "./errors.ts";
import type { Resolvers } from "./schema.ts";

export const CONNECTIONS_SDL = /* GraphQL */ `
type PageInfo {
  hasNextPage: Boolean!
  "Pass as \`after\` to get the next page (the \`after\` given when this page is empty)."
  endCursor: String
}

type PlanEdge {
  cursor: String!
  node: Plan!
}

type PlanConnection {
  edges: [PlanEdge!]!
  pageInfo: PageInfo!
  totalCount: Int!
}

type ClientEdge {
  cursor: String!
  node: Client!
}

type ClientConnection {
  edges: [ClientEdge!]!
  pageInfo: PageInfo!
  totalCount: Int!
}

type PlanSubscriptionEdge {
  cursor: String!
  node: PlanSubscription!
}

type PlanSubscriptionConnection {
  edges: [PlanSubscriptionEdge!]!
  pageInfo: PageInfo!
  totalCount: Int!
}

extend type Query {
  "Pages in creation order: paging while writes happen never skips or repeats an item."
  plansConnection(first: Int = 50, after: String, includeInactive: Boolean = false): PlanConnection!
  "Pages of clients in creation order (client data: needs the token)."
  clientsConnection(first: Int = 50, after: String): ClientConnection!
  "Pages of plan subscriptions in creation order, of one client and/or one status (needs the token)."
  planSubscriptionsConnection(
    first: Int = 50
    after: String
    clientId: ID
    status: String
  ): PlanSubscriptionConnection!
}
`;

/** Most items a page may ask for. */
export const MAX_PAGE = 100;

type PageArgs = { first?: number | null; after?: string | null };
type Context = { authentication: Authentication };

const encode = (connection: string, rank: number) =>
  btoa(`${connection}:${rank}`).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/** The rank a cursor of `connection` stands for; BAD_USER_INPUT for anything else. */
const decode = (connection: string, cursor: string): number => {
  let text = "";
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch { /* not base64: refused below */ }
  const match = /^(\w+):(\d{1,15})$/.exec(text);
  if (!match || match[1] !== connection) {
    throw apiError(
      "BAD_USER_INPUT",
      `after: not a cursor of ${connection} (pass the endCursor or an edge cursor it returned)`,
      "InvalidCursor",
    );
  }
  return Number(match[2]);
};

export const connectionResolvers = (view: QueryView): Resolvers => {
  const page = <C extends Collection>(
    connection: string,
    collection: C,
    { first, after }: PageArgs,
    where: Filter<C>,
    operation: object,
  ) => {
    const size = first ?? 50;
    if (size < 0 || size > MAX_PAGE) {
      throw apiError("BAD_USER_INPUT", `first: from 0 to ${MAX_PAGE}, not ${size}`, "InvalidPage");
    }
    const { items, hasNextPage } = view.page(collection, {
      after: after == null ? 0 : decode(connection, after),
      first: size,
      where,
    });
    const edges = items.map(({ rank, doc }) => ({ cursor: encode(connection, rank), node: doc }));
    // Nested lists (tiers, subscriptions) load for the whole page at once: batches.ts.
    together(operation, edges.map((edge) => edge.node as Views[C]));
    return {
      edges,
      pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? after ?? null },
      // Counted only when asked for (graphql-js calls a function-valued field).
      totalCount: () => view.count(collection, where),
    };
  };

  const authorize = (ctx: Context, what: string) => {
    if (ctx.authentication !== "ok") {
      throw apiError("UNAUTHENTICATED", unauthenticatedMessage(what, ctx.authentication));
    }
  };

  return {
    Query: {
      plansConnection: (_, args: PageArgs & { includeInactive?: boolean | null }, ctx: Context) =>
        page("plansConnection", "plans", args, args.includeInactive ? {} : { isActive: true }, ctx),
      clientsConnection: (_, args: PageArgs, ctx: Context) => {
        authorize(ctx, "the query clientsConnection (client data)");
        return page("clientsConnection", "clients", args, {}, ctx);
      },
      planSubscriptionsConnection: (
        _,
        args: PageArgs & { clientId?: string | null; status?: string | null },
        ctx: Context,
      ) => {
        authorize(ctx, "the query planSubscriptionsConnection (client data)");
        const where: Filter<"planSubscriptions"> = {};
        if (args.clientId != null) where.clientId = args.clientId;
        if (args.status != null) where.status = args.status;
        return page("planSubscriptionsConnection", "planSubscriptions", args, where, ctx);
      },
    },
  };
};
