/**
 * Deployments with real kubectl 1.33 against `ordinal up --runtime sim`:
 * rollout status/history/undo/pause/resume/restart and kubectl scale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, eventually, HAVE_KUBECTL, type RunningCluster, startOrdinal } from './harness.js';

const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: dep}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: ${image}}]
`;

describe.skipIf(!HAVE_KUBECTL)('Deployments with real kubectl (sim nodes)', () => {
  let c: RunningCluster;
  const ns = ['-n', 'dep'];

  beforeAll(async () => {
    c = await startOrdinal(['--store', 'memory', '--nodes', '1', '--sim-ready-delay', '100']);
    await c.k(['create', 'ns', 'dep']);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
    cleanup(c);
  });

  const images = async (): Promise<string[]> =>
    (
      await c.k([
        ...ns,
        'get',
        'pods',
        '-l',
        'app=api',
        '-o',
        'jsonpath={.items[*].spec.containers[0].image}',
      ])
    )
      .split(' ')
      .filter(Boolean);

  it('rolls out, records history, undoes, pauses, resumes and restarts', async () => {
    await c.k(['apply', '-f', '-'], { input: manifest('api:1') });
    expect(await c.k([...ns, 'rollout', 'status', 'deployment', 'api', '--timeout=60s'])).toContain(
      'deployment "api" successfully rolled out',
    );
    const get = await c.k([...ns, 'get', 'deployment', 'api']);
    expect(get).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(get).toMatch(/api\s+3\/3\s+3\s+3\s+/);
    const rs = await c.k([...ns, 'get', 'rs', '-l', 'app=api']);
    expect(rs).toMatch(/api-[a-z0-9]+\s+3\s+3\s+3\s+/);

    await c.k([...ns, 'set', 'image', 'deployment/api', 'api=api:2']);
    await c.k([...ns, 'rollout', 'status', 'deployment', 'api', '--timeout=60s']);
    await eventually(async () => (await images()).join() === 'api:2,api:2,api:2');
    const history = await c.k([...ns, 'rollout', 'history', 'deployment', 'api']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(history).toMatch(/^1\s+<none>/m);
    expect(history).toMatch(/^2\s+<none>/m);
    expect(await c.k([...ns, 'rollout', 'history', 'deployment', 'api', '--revision=1'])).toContain('api:1');

    expect(await c.k([...ns, 'rollout', 'undo', 'deployment', 'api'])).toContain(
      'deployment.apps/api rolled back',
    );
    await c.k([...ns, 'rollout', 'status', 'deployment', 'api', '--timeout=60s']);
    await eventually(async () => (await images()).join() === 'api:1,api:1,api:1');
    // The undo reused the first ReplicaSet, now revision 3.
    const revs = await c.k([
      ...ns,
      'get',
      'rs',
      '-o',
      'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.metadata.annotations.deployment\\.kubernetes\\.io/revision}{" "}{end}',
    ]);
    expect(revs.trim().split(' ').sort()).toEqual(['api:1=3', 'api:2=2']);

    expect(await c.k([...ns, 'rollout', 'pause', 'deployment', 'api'])).toContain(
      'deployment.apps/api paused',
    );
    await c.k([...ns, 'set', 'image', 'deployment/api', 'api=api:3']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await images()).toEqual(['api:1', 'api:1', 'api:1']);
    expect(await c.k([...ns, 'rollout', 'resume', 'deployment', 'api'])).toContain(
      'deployment.apps/api resumed',
    );
    await c.k([...ns, 'rollout', 'status', 'deployment', 'api', '--timeout=60s']);
    await eventually(async () => (await images()).join() === 'api:3,api:3,api:3');

    const before = await c.k([
      ...ns,
      'get',
      'pods',
      '-l',
      'app=api',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ]);
    expect(await c.k([...ns, 'rollout', 'restart', 'deployment', 'api'])).toContain(
      'deployment.apps/api restarted',
    );
    await c.k([...ns, 'rollout', 'status', 'deployment', 'api', '--timeout=60s']);
    await eventually(async () => {
      const now = (
        await c.k([...ns, 'get', 'pods', '-l', 'app=api', '-o', 'jsonpath={.items[*].metadata.name}'])
      ).split(' ');
      return now.length === 3 && now.every((n) => !before.includes(n));
    });

    expect(await c.k([...ns, 'scale', 'deployment', 'api', '--replicas=5'])).toContain(
      'deployment.apps/api scaled',
    );
    await eventually(async () => (await images()).length === 5);
    // With maxUnavailable 0 all five must be available before Available turns True again.
    const cond = await eventually(async () => {
      const o = await c.k([
        ...ns,
        'get',
        'deployment',
        'api',
        '-o',
        'jsonpath={range .status.conditions[*]}{.type}={.status}/{.reason}{" "}{end}',
      ]);
      return o.includes('Available=True') ? o : false;
    });
    expect(cond).toContain('Available=True/MinimumReplicasAvailable');
    expect(cond).toContain('Progressing=True/NewReplicaSetAvailable');
  }, 240_000);

  it('Recreate removes the old pods before creating new ones', async () => {
    const recreate = manifest('web:1')
      .replace(/\bapi\b/g, 'web')
      .replace('strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}', 'strategy: {type: Recreate}');
    await c.k(['apply', '-f', '-'], { input: recreate });
    await c.k([...ns, 'rollout', 'status', 'deployment', 'web', '--timeout=60s']);
    await c.k([...ns, 'set', 'image', 'deployment/web', 'web=web:2']);
    await c.k([...ns, 'rollout', 'status', 'deployment', 'web', '--timeout=60s']);
    const events = await c.k([
      ...ns,
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=web',
      '-o',
      'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
    ]);
    expect(events).toMatch(/Scaled down replica set web-[a-z0-9]+ from 3 to 0/);
  }, 120_000);
});
