/**
 * Validation rules that refuse operations too deep or too costly to answer, before any
 * resolver runs: aliases and lists let a small query ask for a huge answer. A list counts
 * as many items as it can really hold: a connection its page (`first`), another list what
 * the read model holds (ListSizes, from list_sizes.ts), so 900 aliases of `plans` over a
 * big catalog cost what they would return. Introspection's own cycles
 * (__Type.fields.type.fields…) are bounded by graphql-js's MaxIntrospectionDepthRule, one
 * of the specified rules, so the cost leaves them out.
 * @module
 */
import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  type GraphQLArgument,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  GraphQLList,
  type GraphQLNamedType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  type SelectionSetNode,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type ValidationContext,
  type ValidationRule,
} from "graphql";

export type QueryLimits = {
  /** Most nested fields, introspection's included (default 15: the full introspection query nests 13). */
  maxDepth: number;
  /**
   * Most estimated result fields: each field 1, a list's selection × its size (default
   * 500,000: the whole `plans` list of 10,000 plans × 3 tiers, every field, costs about
   * 430,000 and takes about 0.3 s; docs/benchmarks.md).
   */
  maxCost: number;
};

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxDepth: 15, maxCost: 500_000 };

/**
 * How many items the list `Parent.field` can hold now, given the arguments the operation
 * names; undefined when unknown (introspection's lists), which count as LIST_FACTOR.
 */
export type ListSizes = (
  parent: string,
  field: string,
  args: ReadonlySet<string>,
) => number | undefined;
/** How many items a list of unknown size is assumed to hold, for the cost estimate. */
const LIST_FACTOR = 10;
/** A connection's `first` given by a variable: the most a page may hold. */
const MAX_PAGE = 100;

type Walk = (set: SelectionSetNode, type: GraphQLNamedType | undefined) => number;

const fieldDef = (
  type: GraphQLNamedType | undefined,
  node: FieldNode,
): GraphQLField<unknown, unknown> | undefined => {
  const name = node.name.value;
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
  if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
};

/**
 * Folds over a selection set, through fragments. A fragment is measured once and remembered,
 * so fragments that spread each other many times cannot make validation itself slow, and a
 * cycle (reported by the standard rules) counts as nothing.
 */
const walker = (
  context: ValidationContext,
  onField: (
    field: GraphQLField<unknown, unknown> | undefined,
    inner: number,
    node: FieldNode,
    parent: GraphQLNamedType | undefined,
  ) => number,
  combine: (a: number, b: number) => number,
): Walk => {
  const fragments = new Map<string, FragmentDefinitionNode>(
    context.getDocument().definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const typeOf = (name: string | undefined, fallback: GraphQLNamedType | undefined) => {
    const found = name === undefined ? fallback : context.getSchema().getType(name);
    return found && isCompositeType(found) ? found as GraphQLCompositeType : fallback;
  };
  const measured = new Map<string, number>();
  const walk: Walk = (set, type) =>
    set.selections.reduce((total, selection) => {
      switch (selection.kind) {
        case Kind.FIELD: {
          const field = fieldDef(type, selection);
          const inner = selection.selectionSet
            ? walk(selection.selectionSet, field && getNamedType(field.type))
            : 0;
          return combine(total, onField(field, inner, selection, type));
        }
        case Kind.INLINE_FRAGMENT:
          return combine(
            total,
            walk(selection.selectionSet, typeOf(selection.typeCondition?.name.value, type)),
          );
        case Kind.FRAGMENT_SPREAD: {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment) return total;
          let inner = measured.get(name);
          if (inner === undefined) {
            measured.set(name, 0);
            inner = walk(fragment.selectionSet, typeOf(fragment.typeCondition.name.value, type));
            measured.set(name, inner);
          }
          return combine(total, inner);
        }
      }
    }, 0);
  return walk;
};

const operationRule = (
  measure: (context: ValidationContext) => Walk,
  limit: number,
  what: (value: number) => string,
): ValidationRule =>
(context): ASTVisitor => ({
  OperationDefinition(node) {
    const root = context.getSchema().getRootType(node.operation) ?? undefined;
    const value = measure(context)(node.selectionSet, root);
    if (value > limit) {
      context.reportError(
        new GraphQLError(what(value), {
          nodes: [node],
          extensions: { code: "BAD_USER_INPUT", reason: "QueryTooComplex" },
        }),
      );
    }
  },
});

export const depthLimit = (maxDepth: number): ValidationRule =>
  operationRule(
    (context) => walker(context, (_, inner) => 1 + inner, Math.max),
    maxDepth,
    (depth) => `the operation nests ${depth} fields deep; at most ${maxDepth} are allowed`,
  );

/** A connection: an object type with `edges` and `pageInfo`, asked for by `first`. */
const isConnection = (type: GraphQLNamedType | undefined) =>
  isObjectType(type) && "edges" in type.getFields() && "pageInfo" in type.getFields();

/** The page a connection field asks for: `first` as written, its default, or MAX_PAGE for a variable. */
const pageSize = (field: GraphQLField<unknown, unknown>, node: FieldNode): number => {
  const given = node.arguments?.find((arg) => arg.name.value === "first")?.value;
  const fallback = field.args.find((arg: GraphQLArgument) => arg.name === "first")?.defaultValue;
  const size = given === undefined
    ? Number(fallback ?? MAX_PAGE)
    : given.kind === Kind.INT
    ? Number(given.value)
    : MAX_PAGE;
  return Math.max(0, Math.min(MAX_PAGE, size));
};

export const costLimit = (maxCost: number, sizes: ListSizes = () => undefined): ValidationRule =>
  operationRule(
    (context) =>
      walker(context, (field, inner, node, parent) => {
        if (!field || field === SchemaMetaFieldDef || field === TypeMetaFieldDef) return 1;
        // A page multiplies what each edge selects; its edges list is the page, not once more.
        if (isConnection(getNamedType(field.type))) return 1 + pageSize(field, node) * inner;
        if (isConnection(parent) && node.name.value === "edges") return 1 + inner;
        if (!(getNullableType(field.type) instanceof GraphQLList)) return 1 + inner;
        const args = new Set((node.arguments ?? []).map((arg) => arg.name.value));
        return 1 + (sizes(parent?.name ?? "", field.name, args) ?? LIST_FACTOR) * inner;
      }, (a, b) => a + b),
    maxCost,
    (cost) =>
      `the operation could return about ${cost} fields; at most ${maxCost} are allowed (ask for fewer fields or levels, or page: plansConnection, clientsConnection, planSubscriptionsConnection)`,
  );

export const queryLimitRules = (limits: QueryLimits, sizes?: ListSizes): ValidationRule[] => [
  depthLimit(limits.maxDepth),
  costLimit(limits.maxCost, sizes),
];
