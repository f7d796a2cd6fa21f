/**
 * What Stripe holds: every page of its products, prices, customers and subscriptions,
 * the four lists read side by side, each by several cursors at once (listAll). The
 * gateway keeps to Stripe's rate limit.
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

/** Before any Stripe object was made (2010-01-01), in whole seconds. */
const EARLIEST = 1_262_304_000;
/** Pages a cursor keeps for itself when it hands what is older to a new one. */
const PAGES_KEPT = 3;

const createdOf = (object: StripeRecord): number | undefined =>
  typeof object.created === "number" ? object.created : undefined;

/**
 * Every object of a kind. A list's pages name the next by its last id, so one cursor
 * reads one page at a time; to read several at once, a slice of the list whose page says
 * there is more is cut by creation time (Stripe lists newest first): about PAGES_KEPT
 * more pages stay with its cursor, after the page's last id, and what is older is cut
 * among new cursors. Up to `slices` cursors per list; the gateway keeps them all to the
 * rate limit. Objects made within one second cannot be cut apart: one cursor reads them.
 */
export const listAll = async (
  reader: StripeReader,
  kind: StripeListKind,
  { onPage, signal, slices = 8 }: { onPage?: OnPage; signal?: AbortSignal; slices?: number } = {},
): Promise<Listed> => {
  const listedAt = Math.floor(Date.now() / 1000);
  const found = new Map<string, StripeRecord>();
  const cursors: Promise<void>[] = [];
  let reading = 0;
  const read = async (gte?: number, lt?: number) => {
    reading++;
    try {
      let startingAfter: string | undefined;
      for (;;) {
        signal?.throwIfAborted();
        const created = gte === undefined && lt === undefined ? undefined : { gte, lt };
        const page = await reader.listPage(kind, { startingAfter, limit: 100, created });
        for (const object of page.data) found.set(object.id, object);
        const last = page.data.at(-1);
        if (!page.hasMore || last === undefined) return;
        onPage?.(kind, found.size, false);
        startingAfter = last.id;
        // What is left of this slice was made at or before the last object. The newer
        // part of it, about PAGES_KEPT pages as dense as this one, stays with this
        // cursor; what is older is cut the same way among cursors of their own, as many
        // as are free, the last taking whatever remains.
        const upTo = createdOf(last);
        const newest = createdOf(page.data[0]!);
        const from = gte ?? EARLIEST;
        if (upTo === undefined || newest === undefined || reading >= slices) continue;
        const width = PAGES_KEPT * Math.max(1, newest - upTo);
        let upper = upTo - width;
        if (upper <= from) continue;
        gte = upper;
        for (let free = slices - reading; upper > from; free--) {
          const lower = free <= 1 ? from : Math.max(from, upper - width);
          cursors.push(read(lower, upper));
          upper = lower;
        }
      }
    } finally {
      reading--;
    }
  };
  cursors.push(read());
  // Cursors add cursors while they run: wait until the last one added has ended.
  for (let i = 0; i < cursors.length; i++) await cursors[i];
  onPage?.(kind, found.size, true);
  return { objects: [...found.values()], listedAt };
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
