/**
 * Validation rules that refuse operations too deep or too costly to answer, before any
 * resolver runs: aliases and lists let a small query ask for a huge answer. Introspection's
 * own cycles (__Type.fields.type.fields…) are bounded by graphql-js's
 * MaxIntrospectionDepthRule, one of the specified rules, so the cost leaves them out.
 * @module
 */
import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
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
  /** Most estimated result fields: each field 1, a list's selection ×10 (default 10,000). */
  maxCost: number;
};

// Asking every query for every field, tiers and subscriptions included, costs about 3,700.
export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxDepth: 15, maxCost: 10_000 };
/** How many items a list is assumed to hold, for the cost estimate. */
const LIST_FACTOR = 10;

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
  onField: (field: GraphQLField<unknown, unknown> | undefined, inner: number) => number,
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
          return combine(total, onField(field, inner));
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

export const costLimit = (maxCost: number): ValidationRule =>
  operationRule(
    (context) =>
      walker(context, (field, inner) => {
        if (field === SchemaMetaFieldDef || field === TypeMetaFieldDef) return 1;
        const list = field && getNullableType(field.type) instanceof GraphQLList;
        return 1 + (list ? LIST_FACTOR : 1) * inner;
      }, (a, b) => a + b),
    maxCost,
    (cost) =>
      `the operation could return about ${cost} fields; at most ${maxCost} are allowed (ask for fewer fields or levels)`,
  );

export const queryLimitRules = (limits: QueryLimits): ValidationRule[] => [
  depthLimit(limits.maxDepth),
  costLimit(limits.maxCost),
];
