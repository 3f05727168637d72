import { describe, expect, it } from 'vitest';
import type { KObject } from '../api/types.js';
import { bootstrap } from '../cluster.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { Rest } from './rest.js';
import { TOKEN_MOUNT_PATH } from './service-account-admission.js';

async function setup(): Promise<Rest> {
  const rest = new Rest(new MemoryStore(), resources, { admission: true });
  await bootstrap(rest);
  const sa = rest.resource('', 'v1', 'serviceaccounts')!;
  for (const [name, automount] of [
    ['default', undefined],
    ['quiet', false],
  ] as const) {
    await rest.create(sa, 'default', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name },
      ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
    });
  }
  return rest;
}

function pod(name: string, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

type Spec = {
  serviceAccountName?: string;
  volumes?: { name: string; projected?: { sources: unknown[] } }[];
  containers: { volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
  initContainers?: { volumeMounts?: { name: string; mountPath: string }[] }[];
};

describe('ServiceAccount admission', () => {
  it('defaults the account and mounts a projected kube-api-access volume in every container', async () => {
    const rest = await setup();
    const pods = rest.resource('', 'v1', 'pods')!;
    const out = await rest.create(
      pods,
      'default',
      pod('p', { initContainers: [{ name: 'i', image: 'busybox' }] }),
    );
    const spec = out.spec as Spec;
    expect(spec.serviceAccountName).toBe('default');
    const vol = spec.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
    expect(vol?.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    expect(vol?.projected?.sources).toHaveLength(3);
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      expect(c.volumeMounts).toContainEqual({ name: vol?.name, readOnly: true, mountPath: TOKEN_MOUNT_PATH });
    }
  });

  it('honours automountServiceAccountToken on the pod, then on the account, and existing mounts', async () => {
    const rest = await setup();
    const pods = rest.resource('', 'v1', 'pods')!;
    const off = await rest.create(pods, 'default', pod('a', { automountServiceAccountToken: false }));
    expect((off.spec as Spec).volumes ?? []).toHaveLength(0);
    const quiet = await rest.create(pods, 'default', pod('b', { serviceAccountName: 'quiet' }));
    expect((quiet.spec as Spec).volumes ?? []).toHaveLength(0);
    const forced = await rest.create(
      pods,
      'default',
      pod('c', { serviceAccountName: 'quiet', automountServiceAccountToken: true }),
    );
    expect((forced.spec as Spec).volumes).toHaveLength(1);
    const own = await rest.create(
      pods,
      'default',
      pod('d', {
        volumes: [{ name: 'mine', emptyDir: {} }],
        containers: [
          { name: 'c', image: 'busybox', volumeMounts: [{ name: 'mine', mountPath: TOKEN_MOUNT_PATH }] },
        ],
      }),
    );
    expect((own.spec as Spec).volumes?.map((v) => v.name)).toEqual(['mine']);
  });

  it('refuses a pod whose account does not exist, with upstream message, and stores nothing', async () => {
    const rest = await setup();
    const pods = rest.resource('', 'v1', 'pods')!;
    await expect(
      rest.create(pods, 'default', pod('e', { serviceAccountName: 'ghost' })),
    ).rejects.toMatchObject({
      code: 403,
      message:
        'pods "e" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
    });
    await expect(rest.get(pods, 'default', 'e')).rejects.toMatchObject({ code: 404 });
  });
});
