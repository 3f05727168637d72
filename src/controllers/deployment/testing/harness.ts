/**
 * In-process test harness for the ReplicaSet and Deployment controllers:
 * memory store → REST → InProcessClient, one namespace, the controllers under
 * test, and helpers to play the kubelet (mark pods Running/Ready, finish
 * graceful deletions). Excluded from the build (src/**\/testing/**).
 */
import { isNotFound } from '../../../api/errors.js';
import type { KObject } from '../../../api/types.js';
import type { Rest } from '../../../apiserver/rest.js';
import type { InProcessClient } from '../../../client/in-process.js';
import { InformerFactory } from '../../../client/informer.js';
import type { Client } from '../../../client/interface.js';
import type { Clock } from '../../../client/workqueue.js';
import { type Poll, waitFor as poll, startInProcessApi } from '../../../testing/in-process.js';
import { EVENTS } from '../../events.js';
import { ReplicaSetController } from '../../replicaset.js';
import { PODS } from '../../util/resources.js';
import { DeploymentController } from '../controller.js';

export interface Harness {
  rest: Rest;
  /** The raw in-process client (what tests use). */
  api: InProcessClient;
  /** The client the controllers use (possibly wrapped). */
  client: Client;
  informers: InformerFactory;
  rs: ReplicaSetController;
  deployments: DeploymentController | undefined;
  ns: string;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Also run the Deployment controller (default true). */
  deployments?: boolean;
  clock?: Clock;
  /** Wraps the client the controllers (and their informers) use. */
  wrap?: (c: InProcessClient) => Client;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const ns = 'test';
  const { rest, client: api } = await startInProcessApi({ namespaces: [ns] });
  const client = opts.wrap ? opts.wrap(api) : api;
  const informers = new InformerFactory(client, { clock: opts.clock });
  const rs = new ReplicaSetController(client, informers, { clock: opts.clock });
  const deployments =
    opts.deployments === false
      ? undefined
      : new DeploymentController(client, informers, { clock: opts.clock });
  rs.start();
  deployments?.start();
  informers.start();
  return {
    rest,
    api,
    client,
    informers,
    rs,
    deployments,
    ns,
    async stop() {
      await Promise.all([rs.stop(), deployments?.stop(), informers.stop()]);
    },
  };
}

/** A client that delegates to `c` except for the methods in `overrides` (for HarnessOptions.wrap). */
export function clientWith(c: Client, overrides: Partial<Client>): Client {
  return {
    get: c.get.bind(c),
    list: c.list.bind(c),
    create: c.create.bind(c),
    update: c.update.bind(c),
    patch: c.patch.bind(c),
    delete: c.delete.bind(c),
    watch: c.watch.bind(c),
    ...overrides,
  };
}

/** Polls `fn` (real time) until it returns something other than undefined/false. */
export function waitFor<T>(fn: Poll<T>, what = 'condition', timeoutMs = 10_000): Promise<T> {
  return poll(fn, { what, timeoutMs });
}

export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** The kubelet's part: phase Running and Ready=True (since `readySince`, default now). */
export async function markReady(
  api: Client,
  pod: KObject,
  readySince = Date.now(),
): Promise<KObject | undefined> {
  for (;;) {
    let cur: KObject;
    try {
      cur = await api.get(PODS, pod.metadata.namespace, pod.metadata.name ?? '');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const t = rfc3339(readySince);
    cur.status = {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
        { type: 'Initialized', status: 'True', lastTransitionTime: t },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
        { type: 'Ready', status: 'True', lastTransitionTime: t },
      ],
      containerStatuses: [
        { name: 'c', ready: true, restartCount: 0, image: 'x', imageID: '', started: true },
      ],
    };
    try {
      return await api.update(PODS, cur.metadata.namespace, cur, { subresource: 'status' });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      // conflict: retry with a fresh read
    }
  }
}

/** Sets a pod's phase (e.g. Failed/Succeeded) through the status subresource. */
export async function setPhase(api: Client, pod: KObject, phase: string): Promise<KObject> {
  const cur = await api.get(PODS, pod.metadata.namespace, pod.metadata.name ?? '');
  cur.status = { phase };
  return api.update(PODS, cur.metadata.namespace, cur, { subresource: 'status' });
}

export async function listPods(api: Client, ns: string, labelSelector?: string): Promise<KObject[]> {
  return (await api.list(PODS, ns, labelSelector ? { labelSelector } : {})).items;
}

/** Events about an object, as "<reason>: <message>". */
export async function eventsFor(api: Client, ns: string, name: string): Promise<string[]> {
  const list = await api.list(EVENTS, ns);
  return list.items
    .filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === name)
    .map((e) => `${String(e.reason)}: ${String(e.message)}`);
}

export function podTemplate(labels: Record<string, string>, image = 'nginx:1'): Record<string, unknown> {
  return {
    metadata: { labels },
    spec: { containers: [{ name: 'c', image }] },
  };
}

export interface FakeKubelet {
  /** New pods become Running/Ready (default true); pods added while false never do. */
  ready: boolean;
  stop(): void;
}

/**
 * Plays the node agent for pods created from now on: marks them Running/Ready
 * after a random delay up to `maxDelayMs`.
 */
export async function startKubelet(
  api: Client,
  ns: string,
  opts: { maxDelayMs?: number; ready?: boolean } = {},
): Promise<FakeKubelet> {
  const list = await api.list(PODS, ns);
  let stopped = false;
  const k: FakeKubelet = {
    ready: opts.ready ?? true,
    stop: () => {
      stopped = true;
      handle.stop();
    },
  };
  const maxDelay = opts.maxDelayMs ?? 10;
  const handle = await api.watch(PODS, ns, { resourceVersion: list.metadata.resourceVersion }, (e) => {
    if (e.type !== 'ADDED' || !k.ready) return;
    const pod = e.object;
    setTimeout(
      () => {
        if (stopped) return;
        void (async () => {
          try {
            if (!stopped) await markReady(api, pod);
          } catch {
            // the pod went away meanwhile
          }
        })();
      },
      Math.floor(Math.random() * maxDelay),
    );
  });
  return k;
}

/** kubectl's DeploymentStatusViewer: [done, message] ("exceeded its progress deadline" throws there). */
export function kubectlRolloutStatus(d: KObject): { done: boolean; message: string } {
  const st = (d.status ?? {}) as {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; reason?: string }>;
  };
  const name = d.metadata.name;
  const replicas = (d.spec as { replicas?: number }).replicas;
  if ((d.metadata.generation ?? 0) <= (st.observedGeneration ?? 0)) {
    const cond = (st.conditions ?? []).find((c) => c.type === 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded')
      return { done: false, message: `deployment "${name}" exceeded its progress deadline` };
    const updated = st.updatedReplicas ?? 0;
    if (replicas !== undefined && updated < replicas)
      return {
        done: false,
        message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`,
      };
    if ((st.replicas ?? 0) > updated)
      return {
        done: false,
        message: `Waiting for deployment "${name}" rollout to finish: ${(st.replicas ?? 0) - updated} old replicas are pending termination...`,
      };
    if ((st.availableReplicas ?? 0) < updated)
      return {
        done: false,
        message: `Waiting for deployment "${name}" rollout to finish: ${st.availableReplicas ?? 0} of ${updated} updated replicas are available...`,
      };
    return { done: true, message: `deployment "${name}" successfully rolled out` };
  }
  return { done: false, message: 'Waiting for deployment spec update to be observed...' };
}
