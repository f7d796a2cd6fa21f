/**
 * The product API's GraphQL schema: the public contract its clients are built against, plus
 * what the project adds to it (Plan.isDeleted). The contract's types and fields are kept as
 * they are: removing or changing one breaks those clients. The cursor connections' part is
 * in connections.ts.
 * @module
 */
import {
  buildSchema,
  type GraphQLFieldResolver,
  GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import { BILLING_SDL } from "./billing_schema.ts";
import { CONNECTIONS_SDL } from "./connections.ts";

export const SDL = /* GraphQL */ `
"An ISO 8601 date and time in UTC, e.g. 2024-05-01T12:00:00.000Z."
scalar DateTime

"Where a Nudges object stands with its Stripe twin."
enum SyncStatus {
  "Saved in Nudges; the Stripe object is not created or not yet linked."
  PENDING
  "Linked: the Stripe id is known."
  SYNCED
  "Stripe refused it for good (not a transient fault); syncError says why."
  FAILED
}

enum BillingInterval {
  DAY
  WEEK
  MONTH
  YEAR
}

type Plan {
  id: ID!
  name: String!
  description: String
  iconUrl: String
  isActive: Boolean!
  stripeProductId: String
  syncStatus: SyncStatus!
  syncError: String
  "Active and archived tiers alike; each says isActive."
  priceTiers: [PriceTier!]!
  "Deleted (archived) for good: it stays inactive and takes no new price tiers."
  isDeleted: Boolean!
  "Revision of the plan's event stream (0 after its first event)."
  version: Int!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type PriceTier {
  id: ID!
  planId: ID!
  name: String
  "Amount in the currency's minor unit (cents for usd)."
  unitAmount: Int!
  "ISO 4217 code, lower case."
  currency: String!
  "Null for a one-time price."
  interval: BillingInterval
  intervalCount: Int
  isActive: Boolean!
  stripePriceId: String
  syncStatus: SyncStatus!
  syncError: String
  createdAt: DateTime!
}

type Client {
  id: ID!
  name: String!
  email: String!
  stripeCustomerId: String
  syncStatus: SyncStatus!
  subscriptions: [PlanSubscription!]!
}

type PlanSubscription {
  id: ID!
  clientId: ID
  planId: ID
  priceTierId: ID
  stripeSubscriptionId: String
  stripeCustomerId: String
  """
  Stripe's subscription status (incomplete, incomplete_expired, trialing, active,
  past_due, unpaid, canceled, paused), or pending while a checkout payment is not settled.
  A one-time purchase is active once paid.
  """
  status: String!
  paymentConfirmation: PaymentConfirmation
  createdAt: DateTime!
}

type PaymentConfirmation {
  id: ID!
  stripeCheckoutSessionId: String!
  clientId: ID
  planId: ID
  amountTotal: Int
  currency: String
  "Stripe's payment_status: paid, unpaid or no_payment_required."
  paymentStatus: String!
  createdAt: DateTime!
}

"One event as stored, for audits."
type RecordedEvent {
  streamId: String!
  "Position of the event in its stream, from 0."
  revision: Int!
  type: String!
  "The event's data as a JSON text."
  data: String!
  recordedAt: DateTime!
}

input CreatePlanInput {
  name: String!
  description: String
  iconUrl: String
}

input UpdatePlanInput {
  id: ID!
  name: String
  description: String
  iconUrl: String
  isActive: Boolean
  "Optimistic concurrency: refuse the update unless the plan is still at this version."
  expectedVersion: Int
}

input CreatePriceTierInput {
  planId: ID!
  name: String
  unitAmount: Int!
  currency: String!
  interval: BillingInterval
  intervalCount: Int
}

input CreateClientInput {
  name: String!
  email: String!
}

type Query {
  plans(includeInactive: Boolean = false): [Plan!]!
  plan(id: ID!): Plan
  priceTier(id: ID!): PriceTier
  clients: [Client!]!
  client(id: ID!): Client
  planSubscriptions(clientId: ID): [PlanSubscription!]!
  paymentConfirmations: [PaymentConfirmation!]!
  "The stored history of one stream, oldest first."
  streamEvents(streamId: String!): [RecordedEvent!]!
}

type Mutation {
  createPlan(input: CreatePlanInput!): Plan!
  updatePlan(input: UpdatePlanInput!): Plan!
  "Deletes (archives) the plan; returns its id."
  deletePlan(id: ID!): ID!
  createPriceTier(input: CreatePriceTierInput!): PriceTier!
  "Archives the tier; returns its id."
  deletePriceTier(id: ID!): ID!
  createClient(input: CreateClientInput!): Client!
}

type Subscription {
  "Every change to any plan, or to the one plan named by id: its Stripe link included."
  onPlanUpdated(id: ID): Plan!
}
`;

type FieldResolvers = Record<
  string,
  // deno-lint-ignore no-explicit-any -- resolvers are typed where they are written
  GraphQLFieldResolver<any, any, any> | {
    // deno-lint-ignore no-explicit-any
    subscribe: GraphQLFieldResolver<any, any, any>;
    // deno-lint-ignore no-explicit-any
    resolve: GraphQLFieldResolver<any, any, any>;
  }
>;
export type Resolvers = Record<string, FieldResolvers>;

/** The schema with `resolvers` attached; a resolver for a field the schema lacks is a bug. */
export const productSchema = (resolvers: Resolvers): GraphQLSchema => {
  const schema = buildSchema(SDL + BILLING_SDL + CONNECTIONS_SDL);
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) throw new Error(`no object type ${typeName}`);
    const defs = type.getFields();
    for (const [fieldName, resolver] of Object.entries(fields)) {
      const field = defs[fieldName];
      if (!field) throw new Error(`no field ${typeName}.${fieldName}`);
      if (typeof resolver === "function") field.resolve = resolver;
      else Object.assign(field, resolver);
    }
  }
  return schema;
};
