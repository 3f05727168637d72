/**
 * Starts the built-in controllers against a Client. They share one informer
 * per resource; every read and write goes through the client, so the same
 * controllers can run against a remote API server.
 */
import { join } from 'node:path';
import type { Rest } from '../apiserver/rest.js';
import { InformerFactory } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import type { Clock } from '../client/workqueue.js';
import { DeploymentController } from './deployment/controller.js';
import { EndpointsController } from './endpoints.js';
import { EndpointSliceController } from './endpointslice.js';
import { createRecorder } from './events.js';
import { GarbageCollector } from './gc.js';
import { NamespaceController } from './namespace.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { PodGCController } from './podgc.js';
import { ReplicaSetController } from './replicaset.js';
import { Scheduler } from './scheduler/index.js';
import { startServiceAccountController } from './serviceaccount.js';
import { StatefulSetController } from './statefulset/controller.js';
import { startVolumeControllers } from './volume/index.js';

export interface Controllers {
  /** Stops the controllers (in-flight passes finish) and their informers. */
  stop(): Promise<void>;
}

export interface ControllerOptions {
  clock?: Clock;
  /** Longest wait before the namespace controller re-checks content still going away (default 2 s). */
  namespacePollMs?: number;
  /** Cluster CA published as kube-root-ca.crt in every namespace. */
  caPem?: string;
  /** The cluster's data directory: provisioned volumes live under it. */
  dataDir?: string;
  /** Directory served by the shared-directory (nfs-subdir style) provisioner (default <dataDir>/shared). */
  sharedDir?: string;
  /** How long a node may go without a heartbeat before it turns NotReady/Unknown (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** How often node health is checked (default 5 s). */
  nodeMonitorPeriodMs?: number;
}

interface Stoppable {
  start(): void;
  stop(): Promise<void>;
}

export async function startControllers(
  client: Client,
  rest: Pick<Rest, 'resources'>,
  opts: ControllerOptions = {},
): Promise<Controllers> {
  const clock = opts.clock;
  const informers = new InformerFactory(client, { clock });
  const dataDir = opts.dataDir ?? join(process.cwd(), '.ordinal-data');
  const loops: Stoppable[] = [
    new NamespaceController(client, rest.resources, informers, {
      clock,
      maxRemainingPollMs: opts.namespacePollMs,
    }),
    new GarbageCollector(client, rest.resources, informers, {
      clock,
      recorder: createRecorder(client, 'garbage-collector-controller', { onError: () => undefined }),
    }),
    new Scheduler(client, informers, { clock }),
    new StatefulSetController(client, informers, { clock }),
    new ReplicaSetController(client, informers, { clock }),
    new DeploymentController(client, informers, { clock }),
    new EndpointsController(client, informers, { clock }),
    new EndpointSliceController(client, informers, { clock }),
    new NodeLifecycleController(client, informers, {
      clock,
      ...(opts.nodeMonitorGracePeriodMs !== undefined
        ? { gracePeriodMs: opts.nodeMonitorGracePeriodMs }
        : {}),
    }),
    new PodGCController(client, informers, { clock }),
    ...startVolumeControllers(client, informers, {
      clock,
      dataDir,
      ...(opts.sharedDir ? { sharedDir: opts.sharedDir } : {}),
    }),
  ];
  for (const l of loops) l.start();
  informers.start();
  const serviceAccounts = await startServiceAccountController(client, { caPem: opts.caPem });
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      serviceAccounts.stop();
      // Queues stop taking work first; stopping informers releases passes still waiting for a first sync.
      const queues = Promise.all(loops.map((l) => l.stop()));
      await Promise.all([queues, informers.stop()]);
    },
  };
}
