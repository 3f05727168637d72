/**
 * The schema shape that patch code (strategic merge patch, server-side apply)
 * uses to find merge keys and list/map strategies for a value.
 *
 * Schemas may be recursive or lazily built: treat `fields` as a read-only
 * lookup table (never enumerate it to copy, never mutate it).
 */
export interface TypeSchema {
  type: 'object' | 'map' | 'list' | 'scalar' | 'any';
  /** object: schema of a named field (undefined = unknown field) */
  fields?: Record<string, TypeSchema>;
  /** map value schema (type 'map') or list item schema (type 'list') */
  elem?: TypeSchema;
  /** lists: x-kubernetes-list-type */
  listType?: 'atomic' | 'set' | 'map';
  /** lists with listType map: x-kubernetes-list-map-keys */
  mapKeys?: string[];
  /** x-kubernetes-patch-strategy of the field holding this value: 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys' */
  patchStrategy?: string;
  /** x-kubernetes-patch-merge-key */
  patchMergeKey?: string;
}

/** Schema for values about which nothing is known. */
export const ANY: TypeSchema = { type: 'any' };

/** Schema for a scalar (string, number, boolean). */
export const SCALAR: TypeSchema = { type: 'scalar' };

/** Look up the schema of a named field of an object schema; ANY when unknown. */
export function fieldSchema(schema: TypeSchema | undefined, name: string): TypeSchema {
  if (schema?.type !== 'object' || !schema.fields) return ANY;
  // Plain property read (works with lazy getters / proxies); reject inherited
  // members such as `constructor` or `__proto__`.
  const f: unknown = schema.fields[name];
  return typeof f === 'object' && f !== null && typeof (f as TypeSchema).type === 'string'
    ? (f as TypeSchema)
    : ANY;
}

/** Schema of map values / list items; ANY when unknown. */
export function elemSchema(schema: TypeSchema | undefined): TypeSchema {
  return schema?.elem ?? ANY;
}

/** Whether the field's patch strategy includes the given strategy ('merge', 'retainKeys', 'replace'). */
export function hasPatchStrategy(schema: TypeSchema | undefined, strategy: string): boolean {
  if (!schema?.patchStrategy) return false;
  return schema.patchStrategy.split(',').some((s) => s.trim() === strategy);
}

/** Tiny builder for concise schemas (mostly tests and hand-written built-in schemas). */
export const S = {
  any: (): TypeSchema => ({ type: 'any' }),
  scalar: (): TypeSchema => ({ type: 'scalar' }),
  object: (fields: Record<string, TypeSchema>, extra: Partial<TypeSchema> = {}): TypeSchema => ({
    type: 'object',
    fields,
    ...extra,
  }),
  map: (elem: TypeSchema = SCALAR, extra: Partial<TypeSchema> = {}): TypeSchema => ({
    type: 'map',
    elem,
    ...extra,
  }),
  /** atomic list (replaced as a whole by strategic merge patch). */
  atomicList: (elem: TypeSchema = SCALAR, extra: Partial<TypeSchema> = {}): TypeSchema => ({
    type: 'list',
    elem,
    listType: 'atomic',
    ...extra,
  }),
  /** set list of scalars; merge strategy (like metadata.finalizers). */
  setList: (elem: TypeSchema = SCALAR, extra: Partial<TypeSchema> = {}): TypeSchema => ({
    type: 'list',
    elem,
    listType: 'set',
    patchStrategy: 'merge',
    ...extra,
  }),
  /** associative list keyed by `key` with strategic merge (patchStrategy merge, patchMergeKey key). */
  mapList: (key: string, elem: TypeSchema, extra: Partial<TypeSchema> = {}): TypeSchema => ({
    type: 'list',
    elem,
    listType: 'map',
    mapKeys: [key],
    patchStrategy: 'merge',
    patchMergeKey: key,
    ...extra,
  }),
  /** Return a copy of `schema` with additional attributes (e.g. patchStrategy: 'retainKeys'). */
  with: (schema: TypeSchema, extra: Partial<TypeSchema>): TypeSchema => ({ ...schema, ...extra }),
};
