/**
 * An in-process cluster for integration tests: memory store → REST → the
 * built-in controllers (scheduler, workload, endpoints, volume, GC, ...) and
 * simulated nodes, all talking through an InProcessClient. No HTTP, no TLS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimNodes, type SimOptions, startSimNodes } from '../../src/agent/sim/index.js';
import type { KObject, WatchEvent } from '../../src/api/types.js';
import type { Rest } from '../../src/apiserver/rest.js';
import type { InProcessClient } from '../../src/client/in-process.js';
import type { ResourceRef } from '../../src/client/interface.js';
import { type ControllerOptions, type Controllers, startControllers } from '../../src/controllers/index.js';
import { ensureDefaultStorageClass } from '../../src/controllers/volume/index.js';
import type { MemoryStore } from '../../src/storage/memory.js';
import {
  createNamespace,
  type Poll,
  waitFor as poll,
  startInProcessApi,
} from '../../src/testing/in-process.js';

export interface TestClusterOptions {
  /** Simulated nodes (default 1). 0 starts none. */
  nodes?: number | string[];
  /** Options for the simulated nodes (readyDelayMs defaults to 0 here). */
  sim?: Partial<SimOptions>;
  /** Options for the controllers (dataDir defaults to a fresh temp dir). */
  controllers?: Partial<ControllerOptions>;
}

export interface TestCluster {
  rest: Rest;
  client: InProcessClient;
  store: MemoryStore;
  sim: SimNodes | undefined;
  controllers: Controllers;
  dataDir: string;
  /** Creates a fresh namespace (`prefix-<n>`) and returns its name. */
  namespace(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

let nsCounter = 0;

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const { rest, store, client } = await startInProcessApi();
  const dataDir = opts.controllers?.dataDir ?? mkdtempSync(join(tmpdir(), 'ordinal-it-'));
  const ownDir = opts.controllers?.dataDir === undefined;
  await ensureDefaultStorageClass(client);
  const controllers = await startControllers(client, rest, { ...opts.controllers, dataDir });
  const nodes = opts.nodes ?? 1;
  const sim =
    nodes === 0 || (Array.isArray(nodes) && nodes.length === 0)
      ? undefined
      : await startSimNodes(client, { readyDelayMs: 0, ...opts.sim, nodes });
  return {
    rest,
    client,
    store,
    sim,
    controllers,
    dataDir,
    async namespace(prefix = 'it') {
      const name = `${prefix}-${++nsCounter}`;
      await createNamespace(client, name);
      return name;
    },
    async stop() {
      await sim?.stop();
      await controllers.stop();
      await store.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `fn` every 20 ms until it returns a value other than undefined/false,
 * or fails after `timeoutMs`; `detail` is appended to the timeout error.
 */
export function waitFor<T>(
  fn: Poll<T>,
  timeoutMs = 10_000,
  what = 'condition',
  detail?: () => string,
): Promise<T> {
  return poll(fn, { timeoutMs, what, detail, intervalMs: 20 });
}

/** Records every watch event of a resource in a namespace, in order, from now on. */
export async function recordEvents(
  client: InProcessClient,
  res: ResourceRef,
  namespace: string | undefined,
): Promise<{ events: WatchEvent<KObject>[]; stop(): void }> {
  const events: WatchEvent<KObject>[] = [];
  const list = await client.list(res, namespace);
  const handle = await client.watch(
    res,
    namespace,
    { resourceVersion: list.metadata.resourceVersion },
    (e) => {
      if (e.type !== 'BOOKMARK') events.push(e);
    },
  );
  return { events, stop: () => handle.stop() };
}
