/**
 * Per-namespace defaults upstream's controller-manager maintains: the `default`
 * ServiceAccount and the `kube-root-ca.crt` ConfigMap (root-ca-cert-publisher).
 * Level-based: every namespace seen (and every re-list) is reconciled.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Client, ResourceRef, WatchHandle } from '../client/interface.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const SERVICEACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

async function ensure(client: Client, res: ResourceRef, ns: string, obj: KObject): Promise<void> {
  try {
    await client.get(res, ns, obj.metadata.name!);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    try {
      await client.create(res, ns, obj, { fieldManager: 'kube-controller-manager' });
    } catch (err) {
      // Lost a race, or the namespace started terminating: both are fine.
      if (!isAlreadyExists(err) && !(err instanceof Error && /being terminated|not found/.test(err.message)))
        throw err;
    }
  }
}

export async function reconcileNamespaceDefaults(
  client: Client,
  ns: KObject,
  caPem: string | undefined,
): Promise<void> {
  const name = ns.metadata.name!;
  if (ns.metadata.deletionTimestamp) return;
  await ensure(client, SERVICEACCOUNTS, name, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default', namespace: name },
  });
  if (caPem) {
    await ensure(client, CONFIGMAPS, name, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: ROOT_CA_CONFIGMAP,
        namespace: name,
        annotations: {
          'kubernetes.io/description':
            'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
        },
      },
      data: { 'ca.crt': caPem },
    });
  }
}

/**
 * Watches namespaces and reconciles each one. Also re-checks everything every
 * `resyncMs` so a deleted `default` ServiceAccount comes back.
 */
export async function startServiceAccountController(
  client: Client,
  opts: { caPem?: string; resyncMs?: number } = {},
): Promise<{ stop(): void }> {
  let stopped = false;
  let handle: WatchHandle | undefined;
  const queue = new Map<string, KObject>();
  let running = false;
  const drain = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while (queue.size > 0 && !stopped) {
        const [key, ns] = queue.entries().next().value as [string, KObject];
        queue.delete(key);
        try {
          await reconcileNamespaceDefaults(client, ns, opts.caPem);
        } catch (e) {
          if (!stopped)
            console.error(`serviceaccount controller: namespace ${key}:`, e instanceof Error ? e.message : e);
        }
      }
    } finally {
      running = false;
    }
  };
  const resync = async (): Promise<void> => {
    const list = await client.list(NAMESPACES, undefined);
    for (const ns of list.items) queue.set(ns.metadata.name!, ns);
    void drain();
    return;
  };
  const startWatch = async (): Promise<void> => {
    if (stopped) return;
    const list = await client.list(NAMESPACES, undefined);
    for (const ns of list.items) queue.set(ns.metadata.name!, ns);
    void drain();
    handle = await client.watch(
      NAMESPACES,
      undefined,
      { resourceVersion: list.metadata.resourceVersion },
      (e) => {
        if (e.type === 'ADDED' || e.type === 'MODIFIED') {
          queue.set(e.object.metadata.name!, e.object);
          void drain();
        }
      },
    );
    void handle.done.then(() => {
      if (!stopped) void startWatch().catch(() => undefined);
    });
  };
  await startWatch();
  const timer = setInterval(() => void resync().catch(() => undefined), opts.resyncMs ?? 30_000);
  timer.unref();
  // Also reconcile when a ServiceAccount named default disappears.
  const saWatch = await client.watch(
    SERVICEACCOUNTS,
    undefined,
    { fieldSelector: 'metadata.name=default', resourceVersion: '0' },
    (e) => {
      if (e.type === 'DELETED' && e.object.metadata.namespace) {
        const nsName = e.object.metadata.namespace;
        void client
          .get(NAMESPACES, undefined, nsName)
          .then((ns) => {
            queue.set(nsName, ns);
            void drain();
          })
          .catch(() => undefined);
      }
    },
  );
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      handle?.stop();
      saWatch.stop();
    },
  };
}
