/**
 * Pod binding (`pods/binding`, the legacy `bindings` resource and in-process
 * clients): sets spec.nodeName and the PodScheduled condition in one write,
 * as upstream's BindingREST.assignPod does.
 */
import { conflict, isOptimisticConflict } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { RequestContext, Rest } from './rest.js';

export async function assignPod(
  rest: Rest,
  namespace: string | undefined,
  podName: string,
  node: string,
  ctx: RequestContext,
): Promise<KObject> {
  const podsDef = rest.resource('', 'v1', 'pods')!;
  for (let attempt = 0; attempt < 8; attempt++) {
    const pod = await rest.get(podsDef, namespace, podName);
    const spec = (pod.spec ?? {}) as Record<string, unknown>;
    if (pod.metadata.deletionTimestamp) {
      throw conflict(
        { group: '', resource: 'pods/binding' },
        podName,
        `pod ${podName} is being deleted, cannot be assigned to a host`,
      );
    }
    if (spec.nodeName) {
      throw conflict(
        { group: '', resource: 'pods/binding' },
        podName,
        `pod ${podName} is already assigned to node "${String(spec.nodeName)}"`,
      );
    }
    spec.nodeName = node;
    pod.spec = spec;
    const status = (pod.status ?? {}) as Record<string, unknown>;
    const conds = Array.isArray(status.conditions) ? (status.conditions as Record<string, unknown>[]) : [];
    const now = rest.timestamp();
    const others = conds.filter((x) => x.type !== 'PodScheduled');
    status.conditions = [
      ...others,
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
    ];
    pod.status = status;
    try {
      return await rest.bindPod(podsDef, namespace, pod, ctx);
    } catch (e) {
      if (isOptimisticConflict(e)) continue;
      throw e;
    }
  }
  throw conflict({ group: '', resource: 'pods/binding' }, podName, 'too many concurrent updates');
}
