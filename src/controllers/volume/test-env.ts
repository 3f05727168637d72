/**
 * Test fixture for the volume controllers: an in-memory API server, the four
 * volume controllers on a shared informer factory, a temporary data
 * directory, and helpers to create objects and wait for conditions. Used by
 * the *.test.ts files of this directory only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConflict } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { InProcessClient } from '../../client/in-process.js';
import { InformerFactory } from '../../client/informer.js';
import type { ResourceRef } from '../../client/interface.js';
import { type Poll, startInProcessApi, tryGet, waitFor } from '../../testing/in-process.js';
import { EVENTS } from '../events.js';
import { NODES, PODS, PVCS, PVS, STORAGECLASSES } from '../util/resources.js';
import { startVolumeControllers, type VolumeLoop } from './index.js';

export interface VolumeEnv {
  client: InProcessClient;
  dataDir: string;
  sharedDir: string;
  get(res: ResourceRef, ns: string | undefined, name: string): Promise<KObject | undefined>;
  /** Polls until `fn` returns something other than undefined/false (10 s limit). */
  until<T>(fn: Poll<T>, what?: string): Promise<T>;
  gone(res: ResourceRef, ns: string | undefined, name: string): Promise<void>;
  storageClass(
    name: string,
    fields?: Record<string, unknown>,
    annotations?: Record<string, string>,
  ): Promise<KObject>;
  node(name: string, labels?: Record<string, string>): Promise<KObject>;
  pv(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<KObject>;
  pvc(
    ns: string,
    name: string,
    spec: Record<string, unknown>,
    meta?: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ): Promise<KObject>;
  pod(ns: string, name: string, claim: string, nodeName?: string): Promise<KObject>;
  /** Waits for the claim to be Bound and returns it. */
  bound(ns: string, name: string): Promise<KObject>;
  /** Read-modify-write of an object, retried on conflicts (the controllers write concurrently). */
  mutate(res: ResourceRef, ns: string | undefined, name: string, fn: (o: KObject) => void): Promise<KObject>;
  /** Sets annotations on a claim. */
  annotateClaim(ns: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** Events about an object, as "Type Reason Message". */
  events(ns: string, name: string): Promise<string[]>;
  waitEvent(ns: string, name: string, match: RegExp): Promise<string>;
  stop(): Promise<void>;
}

/** `spec` of a claim asking for `size` with RWO (plus overrides). */
export function claimSpec(size: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...extra };
}

export async function volumeEnv(opts: { namespaces?: string[] } = {}): Promise<VolumeEnv> {
  const { store, client } = await startInProcessApi({ namespaces: opts.namespaces ?? ['ns1'] });
  const dataDir = mkdtempSync(join(tmpdir(), 'ordinal-volume-'));
  const sharedDir = join(dataDir, 'shared');
  const informers = new InformerFactory(client);
  const loops: VolumeLoop[] = startVolumeControllers(client, informers, { dataDir, sharedDir });
  for (const l of loops) l.start();
  informers.start();

  const get = (res: ResourceRef, ns: string | undefined, name: string) => tryGet(client, res, ns, name);
  const until = <T>(fn: Poll<T>, what?: string): Promise<T> =>
    waitFor(fn, { what, intervalMs: 10, retryErrors: false });
  const events = async (ns: string, name: string) => {
    const list = await client.list(EVENTS, ns);
    return list.items
      .filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === name)
      .map((e) => `${String(e.type)} ${String(e.reason)} ${String(e.message)}`);
  };
  const env: VolumeEnv = {
    client,
    dataDir,
    sharedDir,
    get,
    until,
    async gone(res, ns, name) {
      await until(async () => (await get(res, ns, name)) === undefined, `${res.resource} ${name} to go`);
    },
    storageClass: (name, fields = {}, annotations) =>
      client.create(STORAGECLASSES, undefined, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name, ...(annotations ? { annotations } : {}) },
        provisioner: 'example.com/none',
        ...fields,
      }),
    node: (name, labels) =>
      client.create(NODES, undefined, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(labels ?? {}) } },
      }),
    pv: (name, spec, labels) =>
      client.create(PVS, undefined, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, ...(labels ? { labels } : {}) },
        spec: { accessModes: ['ReadWriteOnce'], ...spec },
      }),
    pvc: (ns, name, spec, meta = {}) =>
      client.create(PVCS, ns, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, ...meta },
        spec,
      }),
    pod: (ns, name, claim, nodeName) =>
      client.create(PODS, ns, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: {
          ...(nodeName ? { nodeName } : {}),
          containers: [{ name: 'c', image: 'busybox' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        },
      }),
    bound: (ns, name) =>
      until(async () => {
        const c = await get(PVCS, ns, name);
        return (c?.status as { phase?: string } | undefined)?.phase === 'Bound' ? c : undefined;
      }, `claim ${ns}/${name} to bind`),
    async mutate(res, ns, name, fn) {
      for (;;) {
        const o = await client.get(res, ns, name);
        fn(o);
        try {
          return await client.update(res, ns, o);
        } catch (e) {
          if (!isConflict(e)) throw e;
        }
      }
    },
    async annotateClaim(ns, name, annotations) {
      await env.mutate(PVCS, ns, name, (c) => {
        c.metadata.annotations = { ...(c.metadata.annotations ?? {}), ...annotations };
      });
    },
    events,
    waitEvent: (ns, name, match) =>
      until(async () => (await events(ns, name)).find((e) => match.test(e)), `event ${match} on ${name}`),
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
      await informers.stop();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}
