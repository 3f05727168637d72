/**
 * Starts the built-in controllers against a Client. They share one informer
 * per resource; every read and write goes through the client, so the same
 * controllers can run against a remote API server.
 */
import type { Rest } from '../apiserver/rest.js';
import { InformerFactory } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import type { Clock } from '../client/workqueue.js';
import { createRecorder } from './events.js';
import { GarbageCollector } from './gc.js';
import { NamespaceController } from './namespace.js';
import { startServiceAccountController } from './serviceaccount.js';

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
}

export async function startControllers(
  client: Client,
  rest: Pick<Rest, 'resources'>,
  opts: ControllerOptions = {},
): Promise<Controllers> {
  const informers = new InformerFactory(client, { clock: opts.clock });
  const namespaces = new NamespaceController(client, rest.resources, informers, {
    clock: opts.clock,
    maxRemainingPollMs: opts.namespacePollMs,
  });
  const gc = new GarbageCollector(client, rest.resources, informers, {
    clock: opts.clock,
    recorder: createRecorder(client, 'garbage-collector-controller', { onError: () => undefined }),
  });
  namespaces.start();
  gc.start();
  informers.start();
  const serviceAccounts = await startServiceAccountController(client, { caPem: opts.caPem });
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      serviceAccounts.stop();
      // Queues stop taking work first; stopping informers releases passes still waiting for a first sync.
      const queues = Promise.all([namespaces.stop(), gc.stop()]);
      await Promise.all([queues, informers.stop()]);
    },
  };
}
