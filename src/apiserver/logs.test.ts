import { describe, expect, it } from 'vitest';
import { isStatusError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { logContainer, parseLogQuery } from './logs.js';

function pod(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0' }, spec, status };
}

const running = (name: string) => ({ name, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } });

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isStatusError(e)) return `${e.code} ${e.message}`;
    throw e;
  }
  return 'no error';
}

describe('pod log requests', () => {
  it('picks the only container, and refuses as upstream does otherwise', () => {
    const one = pod(
      { nodeName: 'n', containers: [{ name: 'web' }] },
      { containerStatuses: [running('web')] },
    );
    expect(logContainer(one, undefined)).toBe('web');
    const two = pod(
      { nodeName: 'n', containers: [{ name: 'a' }, { name: 'b' }], initContainers: [{ name: 'init' }] },
      { containerStatuses: [running('a'), running('b')] },
    );
    expect(message(() => logContainer(two, undefined))).toBe(
      '400 a container name must be specified for pod web-0, choose one of: [a b] or one of the init containers: [init]',
    );
    expect(logContainer(two, 'b')).toBe('b');
    expect(message(() => logContainer(two, 'c'))).toBe('400 container c is not valid for pod web-0');
    expect(message(() => logContainer(pod({ containers: [{ name: 'web' }] }), undefined))).toBe(
      '400 pod web-0 does not have a host assigned',
    );
    const waiting = pod(
      { nodeName: 'n', containers: [{ name: 'web' }] },
      { containerStatuses: [{ name: 'web', state: { waiting: { reason: 'ContainerCreating' } } }] },
    );
    expect(message(() => logContainer(waiting, undefined))).toBe(
      '400 container "web" in pod "web-0" is waiting to start: ContainerCreating',
    );
  });

  it('parses and validates the query', () => {
    expect(parseLogQuery(new URLSearchParams('container=c&follow=true&tailLines=5&timestamps=true'))).toEqual(
      {
        container: 'c',
        follow: true,
        previous: false,
        timestamps: true,
        tailLines: 5,
      },
    );
    expect(message(() => parseLogQuery(new URLSearchParams('tailLines=-1')))).toContain(
      'tailLines: Invalid value: -1: must be greater than or equal to 0',
    );
    expect(message(() => parseLogQuery(new URLSearchParams('sinceSeconds=x')))).toContain(
      'must be an integer',
    );
    expect(
      message(() => parseLogQuery(new URLSearchParams('sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z'))),
    ).toContain('at most one of `sinceTime` or `sinceSeconds` may be specified');
  });
});
