import type { FieldError } from '../api/errors.js';
import type { KObject } from '../api/types.js';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** meta.k8s.io/v1 TableColumnDefinition. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  /** 0 = always shown, >0 = only with `-o wide`. */
  priority: number;
}

export interface SubresourceDef {
  /** "status", "scale", "binding", "eviction", "token", ... */
  name: string;
  kind: GroupVersionKind;
  verbs: string[];
}

/**
 * Everything the API server knows about one resource kind. One file per kind in
 * src/registry/ exports one of these. Hooks mutate/inspect plain objects; they never
 * touch storage.
 */
export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in URLs: "statefulsets". */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Discovery verbs: subset of create, delete, deletecollection, get, list, patch, update, watch. */
  verbs: string[];
  subresources?: SubresourceDef[];
  /**
   * Has a status subresource: writes to the main resource keep the stored status,
   * writes to /status keep everything but status (and metadata labels/annotations may change).
   */
  hasStatus?: boolean;
  /** Applies upstream's defaults in place (called on create and update, after decoding). */
  defaults?(obj: KObject): void;
  /**
   * Before update validation: carries over what a client may omit or must not change
   * (allocated clusterIP, namespace spec.finalizers, ...). `next` may be mutated.
   */
  prepareForUpdate?(next: KObject, old: KObject): void;
  /** Validation for create; empty = valid. Field paths like "spec.replicas". */
  validate?(obj: KObject): FieldError[];
  /** Validation for update (includes immutable-field checks); runs instead of validate on update. */
  validateUpdate?(obj: KObject, old: KObject): FieldError[];
  /** Upstream's table columns for `kubectl get` (the Name column first). */
  columns: TableColumn[];
  /** One table row's cells, in `columns` order. `now` is for ages. */
  row(obj: KObject, now: Date): unknown[];
  /** Extra field-selector fields this kind supports (metadata.name/namespace are implicit). */
  fieldLabels?(obj: KObject): Record<string, string>;
  /** False for kinds whose metadata.generation is not maintained (most core kinds keep generation at... upstream sets it only where spec exists). */
  tracksGeneration?: boolean;
}
