/**
 * Discovery documents: legacy (/api, /apis, /api/v1, /apis/g/v) and aggregated
 * (apidiscovery.k8s.io/v2), both derived from the registry.
 */
import type { ResourceDef } from '../registry/types.js';

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const AGGREGATED_V2BETA1_CONTENT_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated discovery version (if any) the Accept header asks for first. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (type !== 'application/json') continue;
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (p.get('g') === 'apidiscovery.k8s.io' && p.get('as') === 'APIGroupDiscoveryList') {
      const v = p.get('v');
      if (v === 'v2' || v === 'v2beta1') return v;
    }
    if (p.size === 0) return undefined; // plain application/json preferred
  }
  return undefined;
}

export function aggregatedContentType(v: 'v2' | 'v2beta1'): string {
  return v === 'v2' ? AGGREGATED_CONTENT_TYPE : AGGREGATED_V2BETA1_CONTENT_TYPE;
}

interface GroupVersions {
  group: string;
  versions: string[];
  byVersion: Map<string, ResourceDef[]>;
}

function groupsOf(resources: ResourceDef[]): GroupVersions[] {
  const groups = new Map<string, GroupVersions>();
  for (const r of resources) {
    let g = groups.get(r.group);
    if (!g) {
      g = { group: r.group, versions: [], byVersion: new Map() };
      groups.set(r.group, g);
    }
    let list = g.byVersion.get(r.version);
    if (!list) {
      list = [];
      g.byVersion.set(r.version, list);
      g.versions.push(r.version);
    }
    list.push(r);
  }
  return [...groups.values()];
}

export class Discovery {
  private readonly groups: GroupVersions[];
  private readonly cache = new Map<string, string>();

  constructor(resources: ResourceDef[]) {
    this.groups = groupsOf(resources);
  }

  private memo(key: string, build: () => unknown): string {
    let s = this.cache.get(key);
    if (s === undefined) {
      s = JSON.stringify(build());
      this.cache.set(key, s);
    }
    return s;
  }

  /** GET /api (legacy APIVersions). */
  apiVersions(serverAddress: string): string {
    return JSON.stringify({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    });
  }

  /** GET /apis (legacy APIGroupList). */
  apiGroupList(): string {
    return this.memo('apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.groups.filter((g) => g.group !== '').map((g) => this.apiGroup(g)),
    }));
  }

  private apiGroup(g: GroupVersions): unknown {
    const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v }));
    return { name: g.group, versions, preferredVersion: versions[0] };
  }

  /** GET /apis/<group> (APIGroup), or undefined when unknown. */
  group(name: string): string | undefined {
    const g = this.groups.find((x) => x.group === name && name !== '');
    if (!g) return undefined;
    return this.memo(`group:${name}`, () => ({
      kind: 'APIGroup',
      apiVersion: 'v1',
      ...(this.apiGroup(g) as object),
    }));
  }

  /** GET /api/v1 or /apis/<g>/<v> (APIResourceList), or undefined when unknown. */
  resourceList(group: string, version: string): string | undefined {
    const g = this.groups.find((x) => x.group === group);
    const defs = g?.byVersion.get(version);
    if (!defs) return undefined;
    return this.memo(`rl:${group}/${version}`, () => {
      const out: unknown[] = [];
      for (const r of defs) {
        out.push({
          name: r.plural,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: r.verbs,
          ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories?.length ? { categories: r.categories } : {}),
          storageVersionHash: storageVersionHash(r),
        });
        for (const s of r.subresources ?? []) {
          out.push({
            name: `${r.plural}/${s.name}`,
            singularName: '',
            namespaced: r.namespaced,
            ...(s.kind.group !== r.group ? { group: s.kind.group } : {}),
            ...(s.kind.version !== r.version ? { version: s.kind.version } : {}),
            kind: s.kind.kind,
            verbs: s.verbs,
          });
        }
      }
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group ? `${group}/${version}` : version,
        resources: out,
      };
    });
  }

  /** Aggregated discovery for /api (core only) or /apis (all other groups). */
  aggregated(legacy: boolean, v: 'v2' | 'v2beta1'): string {
    return this.memo(`agg:${legacy}:${v}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${v}`,
      metadata: {},
      items: this.groups
        .filter((g) => (g.group === '') === legacy)
        .map((g) => ({
          metadata: { name: g.group, creationTimestamp: null },
          versions: g.versions.map((ver) => ({
            version: ver,
            freshness: 'Current',
            resources: (g.byVersion.get(ver) ?? []).map((r) => ({
              resource: r.plural,
              responseKind: { group: r.group, version: r.version, kind: r.kind },
              scope: r.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: r.singular,
              verbs: r.verbs,
              ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
              ...(r.categories?.length ? { categories: r.categories } : {}),
              ...(r.subresources?.length
                ? {
                    subresources: r.subresources.map((s) => ({
                      subresource: s.name,
                      responseKind: s.kind,
                      verbs: s.verbs,
                    })),
                  }
                : {}),
            })),
          })),
        })),
    }));
  }
}

/** A stable short hash per resource, like upstream's storageVersionHash (base64 of a sha256 prefix). */
function storageVersionHash(r: ResourceDef): string {
  let h = 2166136261;
  const s = `${r.group}/${r.version}/${r.kind}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const b = Buffer.alloc(8);
  b.writeUInt32BE(h >>> 0, 0);
  b.writeUInt32BE(Math.imul(h, 31) >>> 0, 4);
  return b.toString('base64');
}
