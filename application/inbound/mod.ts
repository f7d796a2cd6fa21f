/**
 * The inbound flow's use cases, for other flows: reconcile applies what it finds in
 * Stripe exactly as a webhook of the object would be applied, and feeds missed events
 * through the webhook record.
 * @module
 */
export { applyPriceEvent, applyProductEvent, importedPlanId, importedTierId } from "./catalog.ts";
export { type InboundContext } from "./context.ts";
export { applyCustomerCreated } from "./customers.ts";
export {
  StripeCustomer,
  StripePrice,
  StripeProduct,
  StripeSubscription,
} from "./stripe_objects.ts";
export { applySubscriptionEvent, planSubscriptionIdOf, stripeStateOf } from "./subscriptions.ts";
export { recordStripeWebhook } from "./webhook_record.ts";
