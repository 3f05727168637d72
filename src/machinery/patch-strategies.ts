/**
 * Our table of list/map merge semantics for the built-in kinds we serve, keyed by
 * OpenAPI definition name and field name. It mirrors the `patchStrategy` /
 * `patchMergeKey` struct tags and the `+listType` / `+listMapKey` / `+mapType` /
 * `+structType` markers of the upstream Go types, which the schemas shipped by
 * @kubernetes/client-node do not carry.
 *
 * scripts/gen-openapi.ts attaches these as `x-kubernetes-*` extensions to the
 * generated OpenAPI documents; src/machinery/schema.ts reads them back from there.
 *
 * Rules for entries:
 * - Lists without an entry are `x-kubernetes-list-type: atomic` (upstream's default
 *   for server-side apply) and are replaced whole by strategic merge patch.
 * - Only fields whose semantics differ from that default need an entry.
 */

export type PatchStrategy = 'merge' | 'retainKeys' | 'merge,retainKeys' | 'replace';

export interface FieldPatchMeta {
  /** x-kubernetes-patch-strategy */
  patchStrategy?: PatchStrategy;
  /** x-kubernetes-patch-merge-key */
  patchMergeKey?: string;
  /** x-kubernetes-list-type */
  listType?: 'atomic' | 'set' | 'map';
  /** x-kubernetes-list-map-keys (listType map) */
  listMapKeys?: string[];
  /** x-kubernetes-map-type of a map-valued field */
  mapType?: 'atomic' | 'granular';
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';
const APPS = 'io.k8s.api.apps.v1';
const POLICY = 'io.k8s.api.policy.v1';
const DISCOVERY = 'io.k8s.api.discovery.v1';

/** Associative list merged by one key (both strategic merge patch and apply). */
function keyed(key: string, extraKeys: string[] = []): FieldPatchMeta {
  return { patchStrategy: 'merge', patchMergeKey: key, listType: 'map', listMapKeys: [key, ...extraKeys] };
}

/** Status-style conditions: merged by `type`. */
const CONDITIONS = keyed('type');

/** Per definition, per field. */
export const FIELD_PATCH_META: Readonly<Record<string, Readonly<Record<string, FieldPatchMeta>>>> = {
  // ---- meta/v1
  [`${META}.ObjectMeta`]: {
    finalizers: { patchStrategy: 'merge', listType: 'set' },
    ownerReferences: keyed('uid'),
  },

  // ---- core/v1
  [`${CORE}.PodSpec`]: {
    volumes: { ...keyed('name'), patchStrategy: 'merge,retainKeys' },
    initContainers: keyed('name'),
    containers: keyed('name'),
    ephemeralContainers: keyed('name'),
    imagePullSecrets: keyed('name'),
    hostAliases: keyed('ip'),
    topologySpreadConstraints: keyed('topologyKey', ['whenUnsatisfiable']),
    schedulingGates: keyed('name'),
    resourceClaims: { ...keyed('name'), patchStrategy: 'merge,retainKeys' },
    nodeSelector: { mapType: 'atomic' },
  },
  [`${CORE}.PodStatus`]: {
    conditions: CONDITIONS,
    podIPs: keyed('ip'),
    hostIPs: { patchStrategy: 'merge', patchMergeKey: 'ip', listType: 'atomic' },
    resourceClaimStatuses: { ...keyed('name'), patchStrategy: 'merge,retainKeys' },
  },
  [`${CORE}.Container`]: {
    ports: keyed('containerPort', ['protocol']),
    env: keyed('name'),
    volumeMounts: keyed('mountPath'),
    volumeDevices: keyed('devicePath'),
  },
  [`${CORE}.EphemeralContainer`]: {
    ports: keyed('containerPort', ['protocol']),
    env: keyed('name'),
    volumeMounts: keyed('mountPath'),
    volumeDevices: keyed('devicePath'),
  },
  [`${CORE}.ContainerStatus`]: {
    volumeMounts: keyed('mountPath'),
    allocatedResourcesStatus: keyed('name'),
  },
  [`${CORE}.ResourceStatus`]: {
    resources: { listType: 'map', listMapKeys: ['resourceID'] },
  },
  [`${CORE}.ResourceRequirements`]: {
    claims: { listType: 'map', listMapKeys: ['name'] },
  },
  [`${CORE}.ServiceSpec`]: {
    ports: keyed('port', ['protocol']),
    selector: { mapType: 'atomic' },
  },
  [`${CORE}.ServiceStatus`]: { conditions: CONDITIONS },
  [`${CORE}.ServiceAccount`]: {
    secrets: { patchStrategy: 'merge', patchMergeKey: 'name', listType: 'atomic' },
  },
  [`${CORE}.NodeSpec`]: {
    podCIDRs: { patchStrategy: 'merge', listType: 'set' },
  },
  [`${CORE}.NodeStatus`]: {
    conditions: CONDITIONS,
    // Several addresses may share a type (dual-stack), so apply treats the list as atomic.
    addresses: { patchStrategy: 'merge', patchMergeKey: 'type', listType: 'atomic' },
  },
  [`${CORE}.NamespaceStatus`]: { conditions: CONDITIONS },
  [`${CORE}.PersistentVolumeClaimStatus`]: {
    conditions: CONDITIONS,
    allocatedResourceStatuses: { mapType: 'granular' },
  },

  // ---- apps/v1
  [`${APPS}.DeploymentSpec`]: { strategy: { patchStrategy: 'retainKeys' } },
  [`${APPS}.DeploymentStatus`]: { conditions: CONDITIONS },
  [`${APPS}.ReplicaSetStatus`]: { conditions: CONDITIONS },
  [`${APPS}.StatefulSetStatus`]: { conditions: CONDITIONS },

  // ---- policy/v1
  [`${POLICY}.PodDisruptionBudgetSpec`]: { selector: { patchStrategy: 'replace' } },
  [`${POLICY}.PodDisruptionBudgetStatus`]: { conditions: CONDITIONS },

  // ---- discovery/v1
  [`${DISCOVERY}.Endpoint`]: { addresses: { listType: 'set' } },
};

/**
 * Structs marked `+structType=atomic` upstream (`x-kubernetes-map-type: atomic` on the
 * definition): server-side apply replaces them whole.
 */
export const ATOMIC_STRUCTS: ReadonlySet<string> = new Set([
  `${META}.LabelSelector`,
  `${META}.OwnerReference`,
  `${CORE}.ObjectReference`,
  `${CORE}.LocalObjectReference`,
  `${CORE}.TypedLocalObjectReference`,
  `${CORE}.SecretReference`,
  `${CORE}.NodeSelector`,
  `${CORE}.NodeSelectorTerm`,
  `${CORE}.TopologySelectorTerm`,
  `${CORE}.ConfigMapKeySelector`,
  `${CORE}.SecretKeySelector`,
  `${CORE}.FileKeySelector`,
  `${CORE}.ObjectFieldSelector`,
  `${CORE}.ResourceFieldSelector`,
]);

/** The table entry for `definition.field`, if any. */
export function fieldPatchMeta(definition: string, field: string): FieldPatchMeta | undefined {
  const byField = FIELD_PATCH_META[definition];
  return byField && Object.hasOwn(byField, field) ? byField[field] : undefined;
}
