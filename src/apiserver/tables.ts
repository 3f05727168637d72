/**
 * meta.k8s.io/v1 Table responses for `kubectl get` (content negotiation with
 * `as=Table`), built from each kind's columns and row function.
 */
import type { KObject } from '../api/types.js';
import type { ResourceDef, TableColumn } from '../registry/types.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Which Table version the Accept header asks for first, or undefined for a plain object. */
export function wantsTable(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (type !== 'application/json' && type !== '*/*') continue;
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (p.get('as') === 'Table' && p.get('g') === 'meta.k8s.io') {
      const v = p.get('v');
      if (v === 'v1' || v === 'v1beta1') return v;
      continue;
    }
    if (!p.has('as')) return undefined;
  }
  return undefined;
}

function rowObject(obj: KObject, include: IncludeObject): unknown {
  if (include === 'None') return null;
  if (include === 'Object') return obj;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: obj.metadata,
  };
}

const FALLBACK_COLUMNS: TableColumn[] = [
  {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace.',
    priority: 0,
  },
  {
    name: 'Created At',
    type: 'date',
    format: '',
    description:
      'CreationTimestamp is a timestamp representing the server time when this object was created.',
    priority: 0,
  },
];

export function tableFor(
  def: ResourceDef,
  objects: KObject[],
  opts: {
    version: 'v1' | 'v1beta1';
    include: IncludeObject;
    resourceVersion?: string;
    continue?: string;
    remainingItemCount?: number;
    noHeaders?: boolean;
    now: Date;
  },
): Record<string, unknown> {
  const useDef = def.columns.length > 0;
  const columns = useDef ? def.columns : FALLBACK_COLUMNS;
  const rows = objects.map((o) => ({
    cells: useDef ? safeRow(def, o, opts.now) : [o.metadata.name ?? '', o.metadata.creationTimestamp ?? ''],
    object: rowObject(o, opts.include),
  }));
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata,
    ...(opts.noHeaders ? {} : { columnDefinitions: columns }),
    rows,
  };
}

function safeRow(def: ResourceDef, o: KObject, now: Date): unknown[] {
  try {
    return def.row(o, now);
  } catch {
    // A printer must never turn a malformed stored object into a 500.
    return def.columns.map((c, i) =>
      i === 0 ? (o.metadata.name ?? '') : c.type === 'integer' ? 0 : '<unknown>',
    );
  }
}
