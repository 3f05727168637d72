import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { rfc3339 } from '../util/pods.js';
import {
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  progressCheckAfterMs,
  rolloutStatus,
} from './progress.js';
import { type DeploymentCondition, getDeploymentCondition, setDeploymentCondition } from './util.js';

const T0 = Date.parse('2024-05-01T00:00:00Z');

function deployment(
  replicas: number,
  status: Record<string, unknown> = {},
  o: { deadline?: number; generation?: number } = {},
): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', generation: o.generation ?? 2 },
    spec: {
      replicas,
      progressDeadlineSeconds: o.deadline ?? 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
    },
    status,
  };
}

function rs(
  name: string,
  o: { spec: number; replicas?: number; ready?: number; available?: number },
): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'ns' },
    spec: { replicas: o.spec },
    status: {
      replicas: o.replicas ?? o.spec,
      readyReplicas: o.ready ?? 0,
      availableReplicas: o.available ?? 0,
    },
  };
}

function cond(
  type: string,
  status: DeploymentCondition['status'],
  reason: string,
  at: number,
): DeploymentCondition {
  return { type, status, reason, message: 'm', lastUpdateTime: rfc3339(at), lastTransitionTime: rfc3339(at) };
}

describe('calculateStatus', () => {
  it('sums the ReplicaSets and sets Available against replicas - maxUnavailable', () => {
    const d = deployment(4, { collisionCount: 2 });
    const oldRS = rs('old', { spec: 2, ready: 2, available: 2 });
    const newRS = rs('new', { spec: 3, replicas: 3, ready: 1, available: 1 });
    const st = calculateStatus([oldRS, newRS], newRS, d, T0);
    expect(st).toMatchObject({
      observedGeneration: 2,
      replicas: 5,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 2,
      collisionCount: 2,
    });
    expect(getDeploymentCondition(st, 'Available')).toEqual({
      type: 'Available',
      status: 'True',
      lastUpdateTime: rfc3339(T0),
      lastTransitionTime: rfc3339(T0),
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    });
    const low = calculateStatus([rs('new', { spec: 4, available: 2 })], undefined, d, T0);
    expect(getDeploymentCondition(low, 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
      message: 'Deployment does not have minimum availability.',
    });
    expect(low.updatedReplicas).toBe(0);
  });
});

describe('setDeploymentCondition', () => {
  it('keeps a condition with the same status and reason, and the transition time on same status', () => {
    const st = { conditions: [cond('Progressing', 'True', 'A', T0), cond('Available', 'True', 'X', T0)] };
    setDeploymentCondition(st, { ...cond('Progressing', 'True', 'A', T0 + 5000), message: 'new' });
    expect(st.conditions[0]?.message).toBe('m');
    setDeploymentCondition(st, cond('Progressing', 'True', 'B', T0 + 5000));
    expect(st.conditions.map((c) => c.type)).toEqual(['Available', 'Progressing']);
    expect(st.conditions[1]).toMatchObject({
      reason: 'B',
      lastUpdateTime: rfc3339(T0 + 5000),
      lastTransitionTime: rfc3339(T0),
    });
    setDeploymentCondition(st, cond('Progressing', 'False', 'C', T0 + 9000));
    expect(st.conditions[1]?.lastTransitionTime).toBe(rfc3339(T0 + 9000));
  });
});

describe('progress', () => {
  it('detects completion and progress', () => {
    const d = deployment(3, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 });
    expect(
      deploymentComplete(d, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 2 }),
    ).toBe(true);
    expect(
      deploymentComplete(d, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 }),
    ).toBe(false);
    expect(
      deploymentProgressing(d, { replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }),
    ).toBe(true);
    // fewer old replicas is progress too
    expect(
      deploymentProgressing(d, { replicas: 3, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }),
    ).toBe(true);
    expect(
      deploymentProgressing(d, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }),
    ).toBe(false);
  });

  it('times out only past the deadline since the last progress', () => {
    const d = deployment(3, {}, { deadline: 60 });
    const st = { conditions: [cond('Progressing', 'True', 'ReplicaSetUpdated', T0)] };
    expect(deploymentTimedOut(d, st, T0 + 60_000)).toBe(false);
    expect(deploymentTimedOut(d, st, T0 + 61_000)).toBe(true);
    expect(
      deploymentTimedOut(
        d,
        { conditions: [cond('Progressing', 'True', 'NewReplicaSetAvailable', T0)] },
        T0 + 1e9,
      ),
    ).toBe(false);
    expect(deploymentTimedOut(deployment(3, {}, { deadline: 2147483647 }), st, T0 + 1e12)).toBe(false);
    expect(progressCheckAfterMs(deployment(3, st, { deadline: 60 }), {}, T0 + 10_000)).toBe(50_000);
  });

  it('reports ReplicaSetUpdated on progress, keeping the transition time', () => {
    const d = deployment(3, {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 1,
      conditions: [cond('Progressing', 'True', 'NewReplicaSetCreated', T0)],
    });
    const oldRS = rs('old', { spec: 2, available: 2 });
    const newRS = rs('web-abc', { spec: 2, available: 1 });
    const st = rolloutStatus([oldRS, newRS], newRS, d, T0 + 30_000);
    expect(getDeploymentCondition(st, 'Progressing')).toEqual({
      type: 'Progressing',
      status: 'True',
      lastUpdateTime: rfc3339(T0 + 30_000),
      lastTransitionTime: rfc3339(T0),
      reason: 'ReplicaSetUpdated',
      message: 'ReplicaSet "web-abc" is progressing.',
    });
  });

  it('reports NewReplicaSetAvailable once complete, then leaves it alone', () => {
    const d = deployment(2, {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 2,
      conditions: [cond('Progressing', 'True', 'ReplicaSetUpdated', T0)],
    });
    const newRS = rs('web-abc', { spec: 2, available: 2 });
    const st = rolloutStatus([rs('old', { spec: 0 }), newRS], newRS, d, T0 + 1000);
    expect(getDeploymentCondition(st, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
      message: 'ReplicaSet "web-abc" has successfully progressed.',
      lastTransitionTime: rfc3339(T0),
    });
    const done = deployment(2, st);
    const again = rolloutStatus([newRS], newRS, done, T0 + 99_000_000);
    expect(getDeploymentCondition(again, 'Progressing')).toEqual(getDeploymentCondition(st, 'Progressing'));
  });

  it('reports ProgressDeadlineExceeded without progress past the deadline', () => {
    const d = deployment(
      2,
      {
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 1,
        availableReplicas: 2,
        conditions: [cond('Progressing', 'True', 'ReplicaSetUpdated', T0)],
      },
      { deadline: 30 },
    );
    const newRS = rs('web-abc', { spec: 1, available: 0 });
    const oldRS = rs('old', { spec: 2, available: 2 });
    expect(
      getDeploymentCondition(rolloutStatus([oldRS, newRS], newRS, d, T0 + 20_000), 'Progressing')?.reason,
    ).toBe('ReplicaSetUpdated');
    expect(
      getDeploymentCondition(rolloutStatus([oldRS, newRS], newRS, d, T0 + 31_000), 'Progressing'),
    ).toEqual({
      type: 'Progressing',
      status: 'False',
      lastUpdateTime: rfc3339(T0 + 31_000),
      lastTransitionTime: rfc3339(T0 + 31_000),
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-abc" has timed out progressing.',
    });
  });

  it('copies ReplicaFailure from the ReplicaSets, and drops Progressing without a deadline', () => {
    const failing = rs('web-abc', { spec: 2, replicas: 0 });
    (failing.status as Record<string, unknown>).conditions = [
      {
        type: 'ReplicaFailure',
        status: 'True',
        lastTransitionTime: rfc3339(T0),
        reason: 'FailedCreate',
        message: 'quota',
      },
    ];
    const d = deployment(2, { conditions: [cond('Progressing', 'True', 'NewReplicaSetCreated', T0)] });
    (d.spec as Record<string, unknown>).progressDeadlineSeconds = 2147483647;
    const st = rolloutStatus([failing], failing, d, T0 + 1000);
    expect(getDeploymentCondition(st, 'Progressing')).toBeUndefined();
    expect(getDeploymentCondition(st, 'ReplicaFailure')).toEqual({
      type: 'ReplicaFailure',
      status: 'True',
      lastUpdateTime: rfc3339(T0),
      lastTransitionTime: rfc3339(T0),
      reason: 'FailedCreate',
      message: 'quota',
    });
  });
});
