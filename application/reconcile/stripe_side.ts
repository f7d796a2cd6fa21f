/**
 * What Stripe holds: every page of its products, prices, customers and subscriptions,
 * the four lists read side by side (each list's pages follow one another: a page names
 * the next by its last id). The gateway keeps to Stripe's rate limit.
 * @module
 */
import type { StripeListKind, StripeReader, StripeRecord } from "../ports/stripe_gateway.ts";

export const LIST_KINDS: readonly StripeListKind[] = [
  "products",
  "prices",
  "customers",
  "subscriptions",
];

export type Listed = {
  objects: StripeRecord[];
  /** Whole seconds, taken before the first page was asked for. */
  listedAt: number;
};

export type StripeSide = Record<StripeListKind, Listed>;

/** Told after every page: the kind and how many of its objects have come so far. */
export type OnPage = (kind: StripeListKind, listed: number, done: boolean) => void;

export const listAll = async (
  reader: StripeReader,
  kind: StripeListKind,
  { onPage, signal }: { onPage?: OnPage; signal?: AbortSignal } = {},
): Promise<Listed> => {
  const listedAt = Math.floor(Date.now() / 1000);
  const objects: StripeRecord[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const page = await reader.listPage(kind, { startingAfter, limit: 100 });
    objects.push(...page.data);
    const last = page.data.at(-1)?.id;
    const done = !page.hasMore || last === undefined;
    onPage?.(kind, objects.length, done);
    if (done) return { objects, listedAt };
    startingAfter = last;
  }
};

export const readStripeSide = async (
  reader: StripeReader,
  options: { onPage?: OnPage; signal?: AbortSignal } = {},
): Promise<StripeSide> => {
  const [products, prices, customers, subscriptions] = await Promise.all(
    LIST_KINDS.map((kind) => listAll(reader, kind, options)),
  );
  return {
    products: products!,
    prices: prices!,
    customers: customers!,
    subscriptions: subscriptions!,
  };
};
