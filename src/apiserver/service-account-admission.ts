/**
 * The ServiceAccount admission step for pods (upstream plugin/pkg/admission/serviceaccount), run on
 * create before validation:
 * - `spec.serviceAccountName` defaults to "default";
 * - the ServiceAccount must exist (403 "error looking up service account ns/name: ..."); a namespace
 *   that was just created gets a moment for its "default" account to appear, as upstream retries;
 * - unless `automountServiceAccountToken: false` on the pod (or, when the pod leaves it unset, on the
 *   account), a projected `kube-api-access-<5 chars>` volume (token, ca.crt, namespace) is added and
 *   mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container that has no
 *   mount there yet. Mirror pods are left alone.
 */
import { forbidden, isNotFound } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import { type Rest, randomSuffix } from './rest.js';

export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
const LOOKUP_RETRIES = 10;
const LOOKUP_INTERVAL_MS = 100;

type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** The projected volume upstream adds (expirationSeconds 3607 is its "legacy-compatible" token lifetime). */
export function apiAccessVolume(name: string): Json {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  };
}

export async function admitServiceAccount(pod: KObject, rest: Rest, namespace: string): Promise<void> {
  if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return;
  if (!isObject(pod.spec)) return;
  const spec = pod.spec as Json;
  const saName = String(spec.serviceAccountName || spec.serviceAccount || 'default');
  spec.serviceAccountName = saName;
  const sa = await lookup(rest, namespace, saName, pod.metadata.name ?? '');
  const automount =
    typeof spec.automountServiceAccountToken === 'boolean'
      ? spec.automountServiceAccountToken
      : sa.automountServiceAccountToken !== false;
  if (!automount) return;
  const containers = [
    ...list(spec.initContainers),
    ...list(spec.containers),
    ...list(spec.ephemeralContainers),
  ];
  const needing = containers.filter(
    (c) => !list(c.volumeMounts).some((m) => m.mountPath === TOKEN_MOUNT_PATH),
  );
  if (needing.length === 0) return;
  const volumes = list(spec.volumes);
  const taken = new Set(volumes.map((v) => String(v.name)));
  let name = `kube-api-access-${randomSuffix()}`;
  while (taken.has(name)) name = `kube-api-access-${randomSuffix()}`;
  spec.volumes = [...volumes, apiAccessVolume(name)];
  for (const c of needing) {
    c.volumeMounts = [...list(c.volumeMounts), { name, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
  }
}

async function lookup(rest: Rest, namespace: string, name: string, podName: string): Promise<Json> {
  const def = rest.resource('', 'v1', 'serviceaccounts')!;
  for (let i = 0; ; i++) {
    try {
      return await rest.get(def, namespace, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // The ServiceAccount controller creates "default" right after the namespace: wait a moment for it.
      if (name !== 'default' || i >= LOOKUP_RETRIES) {
        throw forbidden(
          `pods "${podName}" is forbidden: error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
          { name: podName, kind: 'pods' },
        );
      }
      await new Promise((r) => setTimeout(r, LOOKUP_INTERVAL_MS));
    }
  }
}
