import { describe, expect, it } from 'vitest';
import {
  alwaysAllow,
  alwaysDeny,
  forbiddenError,
  forbiddenMessage,
  type RequestAttributes,
  withSuperuserGroup,
} from './authz.js';

const sa = {
  username: 'system:serviceaccount:ns:default',
  groups: ['system:serviceaccounts', 'system:authenticated'],
};

function attrs(a: Partial<RequestAttributes>): RequestAttributes {
  return { user: sa, verb: 'get', resourceRequest: true, path: '/x', ...a };
}

describe('forbiddenMessage', () => {
  it('names the object in a namespace', () => {
    expect(forbiddenMessage(attrs({ resource: 'pods', namespace: 'ns', name: 'x', apiGroup: '' }))).toBe(
      'pods "x" is forbidden: User "system:serviceaccount:ns:default" cannot get resource "pods" in API group "" in the namespace "ns"',
    );
  });

  it('lists at the cluster scope with a group', () => {
    expect(forbiddenMessage(attrs({ verb: 'list', resource: 'deployments', apiGroup: 'apps' }))).toBe(
      'deployments.apps is forbidden: User "system:serviceaccount:ns:default" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
  });

  it('shows subresources as resource/subresource', () => {
    expect(
      forbiddenMessage(
        attrs({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'ns', name: 'web-0' }),
      ),
    ).toBe(
      'pods "web-0" is forbidden: User "system:serviceaccount:ns:default" cannot create resource "pods/exec" in API group "" in the namespace "ns"',
    );
  });

  it('handles non-resource paths', () => {
    expect(
      forbiddenMessage(attrs({ resourceRequest: false, user: { username: 'x', groups: [] }, path: '/foo' })),
    ).toBe('forbidden: User "x" cannot get path "/foo"');
  });

  it('appends a reason and escapes HTML-looking text', () => {
    expect(
      forbiddenMessage(
        attrs({ resource: 'secrets', namespace: 'a<b>', user: { username: 'u&v', groups: [] } }),
        'RBAC: denied',
      ),
    ).toBe(
      'secrets is forbidden: User "u&amp;v" cannot get resource "secrets" in API group "" in the namespace "a&lt;b&gt;": RBAC: denied',
    );
  });

  it('builds the 403 Status with upstream details', () => {
    const e = forbiddenError(
      attrs({ resource: 'statefulsets', apiGroup: 'apps', namespace: 'db', name: 'pg' }),
    );
    expect(e.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'statefulsets.apps "pg" is forbidden: User "system:serviceaccount:ns:default" cannot get resource "statefulsets" in API group "apps" in the namespace "db"',
      reason: 'Forbidden',
      details: { name: 'pg', group: 'apps', kind: 'statefulsets' },
      code: 403,
    });
  });
});

describe('authorizers', () => {
  it('alwaysAllow allows, alwaysDeny denies, system:masters bypasses', async () => {
    expect(await alwaysAllow.authorize(attrs({}))).toEqual({ allowed: true });
    expect(await alwaysDeny.authorize(attrs({}))).toEqual({ allowed: false });
    const a = withSuperuserGroup(alwaysDeny);
    expect((await a.authorize(attrs({}))).allowed).toBe(false);
    expect(
      (await a.authorize(attrs({ user: { username: 'admin', groups: ['system:masters'] } }))).allowed,
    ).toBe(true);
  });
});
