/**
 * The read-model port: the documents the projections keep for GraphQL, and where they are
 * stored. Reads are synchronous so a projection stays a pure fold over a view; a store
 * commits a batch of changes and the checkpoint that produced them as one unit, so a
 * restart resumes exactly after the last committed event.
 * @module
 */
import type { Client } from "../../domain/client.ts";
import type { PaymentConfirmation } from "../../domain/payment_confirmation.ts";
import type { Plan } from "../../domain/plan.ts";
import type { PlanSubscription } from "../../domain/plan_subscription.ts";
import type { PriceTier } from "../../domain/price_tier.ts";

/** A document is the aggregate's state and the revision of its stream that produced it. */
type Versioned<T> = T & { version: number };

export type PlanView = Versioned<Plan>;
export type PriceTierView = Versioned<PriceTier>;
export type ClientView = Versioned<Client>;
export type PlanSubscriptionView = Versioned<PlanSubscription>;
export type PaymentConfirmationView = Versioned<PaymentConfirmation>;

export type Views = {
  plans: PlanView;
  priceTiers: PriceTierView;
  clients: ClientView;
  planSubscriptions: PlanSubscriptionView;
  paymentConfirmations: PaymentConfirmationView;
};
export type Collection = keyof Views;
export const COLLECTIONS: readonly Collection[] = [
  "plans",
  "priceTiers",
  "clients",
  "planSubscriptions",
  "paymentConfirmations",
];

/** The field a collection can be listed by (a plan's tiers, a client's subscriptions). */
export const PARENT_FIELD: { [C in Collection]?: keyof Views[C] & string } = {
  priceTiers: "planId",
  planSubscriptions: "clientId",
};

export const parentOf = <C extends Collection>(collection: C, doc: Views[C]): string | null => {
  const field = PARENT_FIELD[collection];
  return field === undefined ? null : (doc[field] as string | null) ?? null;
};

/**
 * The fields a page can be filtered on (equality), which the stores keep indexed: a plan's
 * isActive, a subscription's client and status. A parent field (PARENT_FIELD) is one too.
 */
export const FILTER_FIELDS = {
  plans: ["isActive"],
  priceTiers: [],
  clients: [],
  planSubscriptions: ["clientId", "status"],
  paymentConfirmations: [],
} as const satisfies { [C in Collection]: readonly (keyof Views[C] & string)[] };
export type FilterField<C extends Collection> = (typeof FILTER_FIELDS)[C][number];
/** Documents whose fields equal these values (null: the field is null). */
export type Filter<C extends Collection> = { [F in FilterField<C>]?: string | boolean | null };

/**
 * A document with its rank: its place in first-stored order, from 1. Every store built
 * from the same events gives a document the same rank, so a rank is a stable position.
 */
export type Ranked<T> = { rank: number; doc: T };
export type PageRequest<C extends Collection> = {
  /** The rank to start after (0: from the first). */
  after: number;
  /** Most documents to return (0 or more). */
  first: number;
  where?: Filter<C>;
};
export type Page<C extends Collection> = { items: Ranked<Views[C]>[]; hasNextPage: boolean };

/** Insert or replace one document. Documents are never removed: deletion is a state. */
export type Change = { [C in Collection]: { collection: C; doc: Views[C] } }[Collection];

export type ReadView = {
  get<C extends Collection>(collection: C, id: string): Views[C] | null;
  /**
   * Documents in the order they were first stored (which is event order); with `parentId`,
   * only those whose parent field (PARENT_FIELD) is that id.
   */
  list<C extends Collection>(collection: C, parentId?: string): Views[C][];
};

/**
 * The reads GraphQL pages with: each is one read of the store (one SQL statement), whatever
 * the number of documents, so a page with its nested lists costs a bounded number of reads.
 */
export type QueryView = ReadView & {
  /** Up to `first` documents ranked after `after` that match `where`, in rank order. */
  page<C extends Collection>(collection: C, request: PageRequest<C>): Page<C>;
  /** How many documents match `where` (all when absent). */
  count<C extends Collection>(collection: C, where?: Filter<C>): number;
  /** The documents whose parent (PARENT_FIELD) is one of `parentIds`, in first-stored order. */
  childrenOf<C extends Collection>(collection: C, parentIds: readonly string[]): Views[C][];
  /** The documents of these ids that exist, in no particular order. */
  getMany<C extends Collection>(collection: C, ids: readonly string[]): Views[C][];
  /** The most documents one parent has (0 when none): how long a nested list can get. */
  largestFamily<C extends Collection>(collection: C): number;
};

/**
 * The last event a store's documents include; position 0 when none. Its stream and revision
 * let a restart check that the event store still holds that very event (readStream works
 * alike in every store, where a global position may not be readable on its own).
 */
export type Checkpoint = {
  position: number;
  eventId: string | null;
  streamId?: string;
  revision?: number;
};
export const NO_CHECKPOINT: Checkpoint = { position: 0, eventId: null };

export type ReadModelStore = QueryView & {
  /** Names this store's subscription to the event store; unique per store. */
  readonly subscriberId: string;
  checkpoint(): Checkpoint;
  /** Applies the changes in order and moves the checkpoint, all or nothing. */
  commit(changes: readonly Change[], checkpoint: Checkpoint): void;
  /** Forgets every document and the checkpoint, for a rebuild. */
  reset(): void;
  close(): void;
};
