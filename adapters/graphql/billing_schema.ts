/**
 * The billing part of the product API's schema, kept apart from schema.ts: clients'
 * changes and access, the plan subscription's life as Stripe reports it, refunds,
 * checkouts and cancellations. Extends the types schema.ts declares.
 * @module
 */
export const BILLING_SDL = /* GraphQL */ `
extend type Client {
  "Revision of the client's event stream (0 after its first event)."
  version: Int!
  """
  The plans the client may use now: a subscription active or trialing whose paid period
  has not ended, or a paid one-time purchase. What a UI checks before granting access.
  """
  activePlans: [Plan!]!
  "The client's Stripe customer was deleted in Stripe: nothing more is sent to it."
  stripeCustomerDeleted: Boolean!
  updatedAt: DateTime!
}

extend type PlanSubscription {
  "End of the period paid for; null for a one-time purchase (and until Stripe reports it)."
  currentPeriodEnd: DateTime
  "True when it ends at currentPeriodEnd instead of renewing."
  cancelAtPeriodEnd: Boolean!
  "The latest invoice's outcome that Stripe reported: paid or payment_failed; null before any."
  latestPayment: String
  latestPaymentAt: DateTime
  canceledAt: DateTime
  "Nudges asked Stripe to cancel and Stripe has not confirmed it yet."
  cancelRequested: Boolean!
  "Stripe's refusal of the latest cancel Nudges asked for."
  cancelError: String
  updatedAt: DateTime!
}

extend type PaymentConfirmation {
  "Refunded so far, in the currency's minor unit (0 when none)."
  amountRefunded: Int!
  """
  What does not add up, for a person to look at: UnknownPrice (a price Nudges does not
  sell: no plan subscription was made) or AmountMismatch (not what the tier costs).
  """
  problem: String
  problemMessage: String
}

"A Stripe Checkout Session that Nudges created: send the payer to url."
type CheckoutSession {
  "Stripe's id (cs_…)."
  id: String!
  url: String!
}

input UpdateClientInput {
  id: ID!
  name: String
  email: String
  "Optimistic concurrency: refuse the update unless the client is still at this version."
  expectedVersion: Int
}

input CreateCheckoutSessionInput {
  clientId: ID!
  priceTierId: ID!
  successUrl: String!
  cancelUrl: String!
}

input CancelPlanSubscriptionInput {
  id: ID!
  "End it now instead of at the end of the period paid for."
  immediately: Boolean = false
}

extend type Mutation {
  updateClient(input: UpdateClientInput!): Client!
  "Creates a Stripe Checkout Session for the client and price tier."
  createCheckoutSession(input: CreateCheckoutSessionInput!): CheckoutSession!
  "Asks Stripe to cancel; the subscription's status follows when Stripe confirms."
  cancelPlanSubscription(input: CancelPlanSubscriptionInput!): PlanSubscription!
}

extend type Subscription {
  "Every change to the plan subscriptions of one client, or of all clients."
  onPlanSubscriptionUpdated(clientId: ID): PlanSubscription!
}
`;
