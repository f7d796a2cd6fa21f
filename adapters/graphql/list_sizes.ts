/**
 * The real sizes of the schema's lists, for the query cost (limits.ts): a top-level list
 * holds every document of its collection, a nested one (a plan's tiers, a client's
 * subscriptions) at most as many as the largest family. Counted once per read-model
 * position, so a busy API counts again only after a write.
 * @module
 */
import type { Collection, QueryView } from "../../application/ports/read_model.ts";
import type { ListSizes } from "./limits.ts";

/** A stream's length is not known before it is read: streamEvents counts as this many. */
export const STREAM_EVENTS_ESTIMATE = 100;

export const listSizes = (view: QueryView, position: () => number): ListSizes => {
  let at = -1;
  let known = new Map<string, number>();
  const memo = (key: string, count: () => number) => {
    if (position() !== at) [at, known] = [position(), new Map()];
    let found = known.get(key);
    if (found === undefined) known.set(key, found = count());
    return found;
  };
  const all = (collection: Collection) => memo(`all ${collection}`, () => view.count(collection));
  const family = (collection: Collection) =>
    memo(`family ${collection}`, () => view.largestFamily(collection));

  return (parent, field, args) => {
    switch (`${parent}.${field}`) {
      case "Query.plans":
        return all("plans");
      case "Query.clients":
        return all("clients");
      case "Query.planSubscriptions":
        return args.has("clientId") ? family("planSubscriptions") : all("planSubscriptions");
      case "Query.paymentConfirmations":
        return all("paymentConfirmations");
      case "Query.streamEvents":
        return STREAM_EVENTS_ESTIMATE;
      case "Plan.priceTiers":
        return family("priceTiers");
      case "Client.subscriptions":
        return family("planSubscriptions");
      default:
        return undefined;
    }
  };
};
