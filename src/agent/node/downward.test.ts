import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { formatMap, goQuote, kubeletPodView, podFieldValue, resourceFieldValue } from './downward.js';

const pod: KObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-0',
    namespace: 'shop',
    uid: 'u-1',
    labels: { tier: 'front', app: 'web' },
    annotations: { note: 'say "hi"\n' },
  },
  spec: { serviceAccountName: 'robot' },
};

const alloc = { milliCpu: 4000, memory: 8 * 1024 ** 3, ephemeralStorage: 100 * 1024 ** 3 };

describe('downward API values', () => {
  it('goQuote escapes like Go %q', () => {
    expect(goQuote('plain')).toBe('"plain"');
    expect(goQuote('a"b\\c\nd\te')).toBe('"a\\"b\\\\c\\nd\\te"');
    expect(goQuote('\x01é')).toBe('"\\x01é"');
  });

  it('labels and annotations files: sorted key="value" lines without a trailing newline', () => {
    expect(formatMap({ tier: 'front', app: 'web' })).toBe('app="web"\ntier="front"');
    expect(formatMap(undefined)).toBe('');
    expect(podFieldValue(pod, 'metadata.annotations')).toBe('note="say \\"hi\\"\\n"');
  });

  it('metadata fields for volumes; node fields only for env', () => {
    expect(podFieldValue(pod, 'metadata.name')).toBe('web-0');
    expect(podFieldValue(pod, 'metadata.namespace')).toBe('shop');
    expect(podFieldValue(pod, 'metadata.uid')).toBe('u-1');
    expect(podFieldValue(pod, "metadata.labels['app']")).toBe('web');
    expect(podFieldValue(pod, "metadata.labels['none']")).toBe('');
    expect(() => podFieldValue(pod, 'spec.nodeName')).toThrow('unsupported fieldPath: spec.nodeName');
    const node = { nodeName: 'n1', podIP: '10.0.0.5', hostIP: '10.0.0.1' };
    expect(podFieldValue(pod, 'spec.nodeName', node)).toBe('n1');
    expect(podFieldValue(pod, 'spec.serviceAccountName', node)).toBe('robot');
    expect(podFieldValue(pod, 'status.podIP', node)).toBe('10.0.0.5');
  });

  it('the kubelet adds config.seen and config.source annotations', () => {
    const v = kubeletPodView(pod, '2026-01-02T03:04:05.000000000Z');
    expect(v.metadata.annotations).toEqual({
      note: 'say "hi"\n',
      'kubernetes.io/config.seen': '2026-01-02T03:04:05.000000000Z',
      'kubernetes.io/config.source': 'api',
    });
    expect(pod.metadata.annotations?.['kubernetes.io/config.source']).toBeUndefined();
  });

  it('resourceFieldRef: divided by the divisor and rounded up; unset limits are the allocatable', () => {
    const c = { resources: { limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '100m' } } };
    expect(resourceFieldValue({ resource: 'limits.cpu' }, c, alloc)).toBe('1');
    expect(resourceFieldValue({ resource: 'limits.cpu', divisor: '1m' }, c, alloc)).toBe('250');
    expect(resourceFieldValue({ resource: 'requests.cpu', divisor: '1m' }, c, alloc)).toBe('100');
    expect(resourceFieldValue({ resource: 'limits.memory' }, c, alloc)).toBe('67108864');
    expect(resourceFieldValue({ resource: 'limits.memory', divisor: '1Mi' }, c, alloc)).toBe('64');
    expect(resourceFieldValue({ resource: 'limits.memory', divisor: '1Gi' }, c, alloc)).toBe('1');
    expect(resourceFieldValue({ resource: 'requests.memory' }, c, alloc)).toBe('0');
    expect(resourceFieldValue({ resource: 'limits.cpu' }, {}, alloc)).toBe('4');
    expect(resourceFieldValue({ resource: 'limits.memory', divisor: '1Mi' }, {}, alloc)).toBe('8192');
    expect(resourceFieldValue({ resource: 'limits.ephemeral-storage', divisor: '1Gi' }, {}, alloc)).toBe(
      '100',
    );
    expect(() => resourceFieldValue({ resource: 'limits.gpu' }, c, alloc)).toThrow(
      'unsupported container resource : limits.gpu',
    );
  });
});
