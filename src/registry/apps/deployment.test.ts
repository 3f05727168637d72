import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import { messages } from '../misc/test-helpers.js';
import {
  deploymentDefaults,
  deployments,
  validateDeployment,
  validateDeploymentUpdate,
} from './deployment.js';
import {
  replicaSetDefaults,
  replicaSets,
  validateReplicaSet,
  validateReplicaSetUpdate,
} from './replicaset.js';

function manifest(kind: 'Deployment' | 'ReplicaSet'): KObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'api', namespace: 'go-demo-3' },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'vfarcic/go-demo-3:latest' }] },
      },
    },
  };
}

describe('Deployment defaults', () => {
  it('applies upstream apps/v1 defaults', () => {
    const obj = manifest('Deployment');
    deploymentDefaults(obj);
    expect(obj.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: {
        spec: {
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
          terminationGracePeriodSeconds: 30,
          containers: [{ imagePullPolicy: 'Always', terminationMessagePolicy: 'File' }],
        },
      },
    });
    expect(obj.status).toEqual({});
    expect(validateDeployment(obj)).toEqual([]);
  });

  it('leaves Recreate without rollingUpdate', () => {
    const obj = manifest('Deployment');
    (obj.spec as Record<string, unknown>).strategy = { type: 'Recreate' };
    deploymentDefaults(obj);
    expect((obj.spec as Record<string, unknown>).strategy).toEqual({ type: 'Recreate' });
  });
});

describe('Deployment validation', () => {
  it('rejects changing the selector with upstream wording', () => {
    const old = manifest('Deployment');
    deploymentDefaults(old);
    const changed = structuredClone(old);
    const spec = changed.spec as { selector: unknown; template: { metadata: { labels: unknown } } };
    spec.selector = { matchLabels: { app: 'api2' } };
    spec.template.metadata.labels = { app: 'api2' };
    expect(messages(validateDeploymentUpdate(changed, old))).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"api2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });

  it('accepts a selector written as an equal value with empty lists', () => {
    const old = manifest('Deployment');
    deploymentDefaults(old);
    const changed = structuredClone(old);
    (changed.spec as { selector: unknown }).selector = { matchLabels: { app: 'api' }, matchExpressions: [] };
    expect(validateDeploymentUpdate(changed, old)).toEqual([]);
  });

  it('reports zero maxUnavailable and maxSurge, bad percentages and progress deadline', () => {
    const obj = manifest('Deployment');
    const spec = obj.spec as Record<string, unknown>;
    spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } };
    spec.minReadySeconds = 700;
    deploymentDefaults(obj);
    expect(messages(validateDeployment(obj))).toEqual([
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
      'spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds',
    ]);
    (spec.strategy as { rollingUpdate: Record<string, unknown> }).rollingUpdate = {
      maxUnavailable: '150%',
      maxSurge: 'x',
    };
    spec.minReadySeconds = 0;
    expect(messages(validateDeployment(obj))).toEqual([
      `spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"x"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
    ]);
  });

  it('validates the pod template (unlike StatefulSet)', () => {
    const obj = manifest('Deployment');
    const c = (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0];
    delete c?.image;
    deploymentDefaults(obj);
    expect(validateDeployment(obj).map((e) => e.field)).toContain('spec.template.spec.containers[0].image');
  });

  it('rejects an unknown strategy type', () => {
    const obj = manifest('Deployment');
    (obj.spec as Record<string, unknown>).strategy = { type: 'BlueGreen' };
    deploymentDefaults(obj);
    expect(messages(validateDeployment(obj))).toEqual([
      'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"',
    ]);
  });
});

describe('Deployment and ReplicaSet tables', () => {
  const now = new Date('2024-01-02T00:00:00Z');

  it('prints deployments as NAME READY UP-TO-DATE AVAILABLE AGE (+ wide)', () => {
    const obj = manifest('Deployment');
    deploymentDefaults(obj);
    obj.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    obj.status = { readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    expect(deployments.columns.map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Up-to-date',
      'Available',
      'Age',
      'Containers',
      'Images',
      'Selector',
    ]);
    expect(deployments.row(obj, now)).toEqual([
      'api',
      '1/1',
      1,
      1,
      '24h',
      'api',
      'vfarcic/go-demo-3:latest',
      'app=api',
    ]);
  });

  it('prints replicasets as NAME DESIRED CURRENT READY AGE (+ wide) and selects on status.replicas', () => {
    const obj = manifest('ReplicaSet');
    replicaSetDefaults(obj);
    (obj.spec as Record<string, unknown>).replicas = 3;
    obj.metadata.creationTimestamp = '2024-01-01T23:59:00Z';
    obj.status = { replicas: 2, readyReplicas: 1 };
    expect(replicaSets.columns.map((c) => c.name)).toEqual([
      'Name',
      'Desired',
      'Current',
      'Ready',
      'Age',
      'Containers',
      'Images',
      'Selector',
    ]);
    expect(replicaSets.row(obj, now)).toEqual([
      'api',
      3,
      2,
      1,
      '60s',
      'api',
      'vfarcic/go-demo-3:latest',
      'app=api',
    ]);
    expect(replicaSets.fieldLabels?.(obj)).toEqual({ 'status.replicas': '2' });
  });
});

describe('ReplicaSet validation', () => {
  it('defaults replicas to 1 and validates like upstream', () => {
    const obj = manifest('ReplicaSet');
    replicaSetDefaults(obj);
    expect((obj.spec as Record<string, unknown>).replicas).toBe(1);
    expect(obj.status).toEqual({ replicas: 0 });
    expect(validateReplicaSet(obj)).toEqual([]);
    (obj.spec as Record<string, unknown>).selector = {};
    expect(messages(validateReplicaSet(obj))).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
    ]);
  });

  it('keeps the selector immutable', () => {
    const old = manifest('ReplicaSet');
    replicaSetDefaults(old);
    const changed = structuredClone(old);
    (changed.spec as { selector: unknown }).selector = {
      matchLabels: { app: 'api' },
      matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }],
    };
    expect(messages(validateReplicaSetUpdate(changed, old))).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"api"}, MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"tier", Operator:"DoesNotExist", Values:[]string(nil)}}}: field is immutable',
    ]);
  });
});
