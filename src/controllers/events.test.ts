import { describe, expect, it } from 'vitest';
import type { KObject } from '../api/types.js';
import { Rest } from '../apiserver/rest.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { createRecorder, EVENTS } from './events.js';

const NS: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const CM: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

async function setup(now: () => Date) {
  const rest = new Rest(new MemoryStore(), resources);
  const client = new InProcessClient(rest);
  for (const name of ['default', 'a']) {
    await client.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const errors: unknown[] = [];
  const rec = createRecorder(client, 'test-controller', { now, onError: (e) => errors.push(e) });
  return { client, rec, errors };
}

describe('event recorder', () => {
  it('writes a core/v1 Event like the upstream recorder', async () => {
    const t = new Date('2024-05-06T07:08:09.123Z');
    const { client, rec, errors } = await setup(() => t);
    const cm = await client.create(CM, 'a', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web' },
    });
    await rec.event(cm, 'Normal', 'Created', 'made it');
    expect(errors).toEqual([]);
    const [ev] = (await client.list(EVENTS, 'a')).items;
    const nanos = (BigInt(t.getTime()) * 1_000_000n).toString(16);
    expect(ev).toMatchObject({
      metadata: { name: `web.${nanos}`, namespace: 'a' },
      involvedObject: {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        namespace: 'a',
        name: 'web',
        uid: cm.metadata.uid,
        resourceVersion: cm.metadata.resourceVersion,
      },
      type: 'Normal',
      reason: 'Created',
      message: 'made it',
      source: { component: 'test-controller' },
      reportingComponent: 'test-controller',
      firstTimestamp: '2024-05-06T07:08:09Z',
      lastTimestamp: '2024-05-06T07:08:09Z',
      count: 1,
    });
  });

  it('aggregates identical events into one with a count, and keeps different ones apart', async () => {
    let t = new Date('2024-05-06T07:08:09Z');
    const { client, rec } = await setup(() => t);
    const cm = await client.create(CM, 'a', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web' },
    });
    // Fired without awaiting, as controllers do: still one event.
    void rec.event(cm, 'Warning', 'Failed', 'boom');
    void rec.event(cm, 'Warning', 'Failed', 'boom');
    t = new Date('2024-05-06T07:09:00Z');
    await rec.event(cm, 'Warning', 'Failed', 'boom');
    await rec.event(cm, 'Warning', 'Failed', 'other message');
    const items = (await client.list(EVENTS, 'a')).items;
    expect(items).toHaveLength(2);
    const boom = items.find((e) => e.message === 'boom') as KObject;
    expect(boom).toMatchObject({
      count: 3,
      firstTimestamp: '2024-05-06T07:08:09Z',
      lastTimestamp: '2024-05-06T07:09:00Z',
    });
    expect(items.find((e) => e.message === 'other message')).toMatchObject({ count: 1 });
  });

  it('recreates an aggregated event that was deleted, and puts cluster-scoped objects in "default"', async () => {
    const { client, rec } = await setup(() => new Date('2024-01-01T00:00:00Z'));
    const ns = await client.get(NS, undefined, 'a');
    await rec.event(ns, 'Normal', 'Seen', 'hello');
    const [first] = (await client.list(EVENTS, 'default')).items;
    expect(first?.involvedObject).toMatchObject({ kind: 'Namespace', name: 'a' });
    await client.delete(EVENTS, 'default', first!.metadata.name!);
    await rec.event(ns, 'Normal', 'Seen', 'hello');
    const again = (await client.list(EVENTS, 'default')).items;
    expect(again).toHaveLength(1);
    expect(again[0]?.count).toBe(2);
  });

  it('never throws: failures go to onError', async () => {
    const { client, rec, errors } = await setup(() => new Date());
    const ghost: KObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'missing' },
    };
    await expect(rec.event(ghost, 'Normal', 'R', 'm')).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect((await client.list(EVENTS, undefined)).items).toHaveLength(0);
  });
});
