import { describe, expect, it } from 'vitest';
import { fieldErrorBody, invalid } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { podQOSClass, podStatusCells, pods } from './pods.js';

const now = new Date('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

function pod(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(10 * 60_000), ...meta },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
    status,
  };
}

describe('pod READY/STATUS/RESTARTS', () => {
  it('pending without container statuses', () => {
    expect(podStatusCells(pod({}, { phase: 'Pending' }), now)).toEqual({
      ready: '0/1',
      status: 'Pending',
      restarts: '0',
    });
  });

  it('container creating', () => {
    const p = pod(
      {},
      {
        phase: 'Pending',
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
        ],
      },
    );
    expect(podStatusCells(p, now).status).toBe('ContainerCreating');
  });

  it('running and ready', () => {
    const p = pod(
      {},
      {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          { name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: ago(60_000) } } },
        ],
      },
    );
    expect(podStatusCells(p, now)).toEqual({ ready: '1/1', status: 'Running', restarts: '0' });
  });

  it('crash loop with restarts and last restart age', () => {
    const p = pod(
      {},
      {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 2,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(5 * 60_000) } },
          },
        ],
      },
    );
    expect(podStatusCells(p, now)).toEqual({
      ready: '0/1',
      status: 'CrashLoopBackOff',
      restarts: '2 (5m ago)',
    });
  });

  it('completed and errored containers', () => {
    const done = pod(
      { restartPolicy: 'Never' },
      {
        phase: 'Succeeded',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed' } },
          },
        ],
      },
    );
    expect(podStatusCells(done, now).status).toBe('Completed');
    const sig = pod(
      {},
      {
        phase: 'Failed',
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } },
        ],
      },
    );
    expect(podStatusCells(sig, now).status).toBe('Signal:9');
  });

  it('init containers', () => {
    const spec = { initContainers: [{ name: 'init', image: 'busybox' }] };
    const waiting = pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'init', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
      ],
      containerStatuses: [
        { name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
      ],
    });
    expect(podStatusCells(waiting, now)).toEqual({ ready: '0/1', status: 'Init:0/1', restarts: '0' });
    const crashing = pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'init', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    });
    expect(podStatusCells(crashing, now)).toEqual({
      ready: '0/1',
      status: 'Init:CrashLoopBackOff',
      restarts: '3',
    });
    const failed = pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'init', ready: false, restartCount: 0, state: { terminated: { exitCode: 2 } } },
      ],
    });
    expect(podStatusCells(failed, now).status).toBe('Init:ExitCode:2');
  });

  it('counts restartable init containers (sidecars)', () => {
    const p = pod(
      { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] },
      {
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        initContainerStatuses: [
          { name: 'proxy', ready: true, started: true, restartCount: 1, state: { running: {} } },
        ],
        containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }],
      },
    );
    expect(podStatusCells(p, now)).toEqual({ ready: '2/2', status: 'Running', restarts: '1' });
  });

  it('terminating', () => {
    const p = pod({}, { phase: 'Running' }, { deletionTimestamp: ago(1000) });
    expect(podStatusCells(p, now).status).toBe('Terminating');
  });

  it('full row including wide columns', () => {
    const p = pod(
      { nodeName: 'node-1' },
      { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
    );
    expect(pods.row(p, now)).toEqual([
      'p',
      '0/1',
      'Running',
      '0',
      '10m',
      '10.0.0.5',
      'node-1',
      '<none>',
      '<none>',
    ]);
    expect(pods.columns.map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP',
      'Node',
      'Nominated Node',
      'Readiness Gates',
    ]);
  });
});

describe('pod defaults and validation', () => {
  it('defaults a new pod', () => {
    const p: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1.25', resources: { limits: { cpu: '1', memory: '1Gi' } } },
        ],
      },
    };
    pods.defaults?.(p);
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      terminationGracePeriodSeconds: 30,
      containers: [{ resources: { requests: { cpu: '1', memory: '1Gi' } }, imagePullPolicy: 'IfNotPresent' }],
    });
    expect(p.status).toEqual({ phase: 'Pending', qosClass: 'Guaranteed' });
    // DefaultTolerationSeconds admission, in upstream's shape and order.
    expect((p.spec as Record<string, unknown>).tolerations).toEqual([
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ]);
    expect(pods.validate?.(p)).toEqual([]);
  });

  it('adds default tolerations only for taints not already tolerated', () => {
    const withSpec = (tolerations: unknown[]): Record<string, unknown> => {
      const p: KObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'default' },
        spec: { containers: [{ name: 'web', image: 'nginx' }], tolerations },
      };
      pods.defaults?.(p);
      return p.spec as Record<string, unknown>;
    };
    const own = {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 6000,
    };
    expect(withSpec([own]).tolerations).toEqual([
      own,
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ]);
    // An empty key with Exists tolerates every taint; an empty effect matches NoExecute.
    expect(withSpec([{ operator: 'Exists' }]).tolerations).toEqual([{ operator: 'Exists' }]);
    // NoSchedule tolerations do not cover the NoExecute taints.
    const noSchedule = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' };
    expect(withSpec([noSchedule]).tolerations).toHaveLength(3);
    // Idempotent: defaulting an already admitted pod adds nothing.
    const once = withSpec([]);
    const p2: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'w' },
      spec: structuredClone(once),
    };
    pods.defaults?.(p2);
    expect((p2.spec as Record<string, unknown>).tolerations).toEqual(once.tolerations);
  });

  it('computes QoS classes', () => {
    expect(podQOSClass({ containers: [{}] })).toBe('BestEffort');
    expect(podQOSClass({ containers: [{ resources: { requests: { cpu: '100m' } } }] })).toBe('Burstable');
  });

  it('rejects a pod without image with the upstream message', () => {
    const p: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: { containers: [{ name: 'web' }] },
    };
    pods.defaults?.(p);
    expect(invalid('Pod', '', 'web', pods.validate?.(p) ?? []).message).toBe(
      'Pod "web" is invalid: spec.containers[0].image: Required value',
    );
  });

  it('restricts spec updates', () => {
    const old: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default', uid: 'u1' },
      spec: { containers: [{ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
    };
    pods.defaults?.(old);
    const imageChange = structuredClone(old);
    (imageChange.spec as { containers: { image: string }[] }).containers[0]!.image = 'nginx:1.26';
    expect(pods.validateUpdate?.(imageChange, old)).toEqual([]);

    const portChange = structuredClone(old);
    (portChange.spec as { containers: { ports: { containerPort: number }[] }[] }).containers[0]!
      .ports[0]!.containerPort = 81;
    const errs = pods.validateUpdate?.(portChange, old) ?? [];
    expect(errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`)).toEqual([
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ]);

    const tolerationAdded = structuredClone(old);
    const addedSpec = tolerationAdded.spec as Record<string, unknown>;
    addedSpec.tolerations = [...(addedSpec.tolerations as unknown[]), { key: 'k', operator: 'Exists' }];
    expect(pods.validateUpdate?.(tolerationAdded, old)).toEqual([]);
  });

  it('exposes upstream field selectors', () => {
    const p = pod({ nodeName: 'n1', restartPolicy: 'Always' }, { phase: 'Running', podIP: '10.0.0.1' });
    expect(pods.fieldLabels?.(p)).toMatchObject({
      'spec.nodeName': 'n1',
      'status.phase': 'Running',
      'status.podIP': '10.0.0.1',
    });
  });
});
