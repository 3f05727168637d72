import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alwaysAllow } from '../apiserver/auth/authz.js';
import { ServiceAccountTokens } from '../apiserver/auth/sa-token.js';
import { Rest } from '../apiserver/rest.js';
import { VirtualResources } from '../apiserver/virtual.js';
import { bootstrap } from '../cluster.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { InProcessClient } from './in-process.js';

const SA = { group: '', version: 'v1', resource: 'serviceaccounts' };

describe('InProcessClient subresources', () => {
  it('serves serviceaccounts/token through the API server virtual resources (the node agent needs it)', async () => {
    const rest = new Rest(new MemoryStore(), resources);
    await bootstrap(rest);
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const tokens = new ServiceAccountTokens(key);
    const client = new InProcessClient(
      rest,
      undefined,
      new VirtualResources(rest, alwaysAllow, tokens, async () => undefined),
    );
    await client.create(SA, 'default', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'app' },
    });
    const out = await client.create(
      SA,
      'default',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name: 'app', namespace: 'default' },
        spec: { expirationSeconds: 3607 },
      },
      { subresource: 'token' },
    );
    const token = String((out.status as { token?: string }).token);
    const claims = tokens.verify(token, rest.now());
    expect(claims?.['kubernetes.io'].serviceaccount.name).toBe('app');
    await expect(
      client.create(
        SA,
        'default',
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          metadata: { name: 'nobody' },
          spec: {},
        },
        { subresource: 'token' },
      ),
    ).rejects.toMatchObject({ code: 404 });
    // Without the virtual resources, other subresources are unknown.
    await expect(
      new InProcessClient(rest).create(
        SA,
        'default',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'app' } },
        { subresource: 'token' },
      ),
    ).rejects.toMatchObject({ code: 404 });
  });
});
