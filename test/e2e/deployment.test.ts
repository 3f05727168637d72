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

  /** `kubectl -n dep get pods -l app=api -o <output>`. */
  const apiPods = (output: string) => c.k([...ns, 'get', 'pods', '-l', 'app=api', '-o', output]);
  const images = async (): Promise<string[]> =>
    (await apiPods('jsonpath={.items[*].spec.containers[0].image}')).split(' ').filter(Boolean);
  const podNames = () => apiPods('jsonpath={.items[*].metadata.name}');
  /** `kubectl rollout status`, which waits for the rollout to finish. */
  const rolloutStatus = (name = 'api') =>
    c.k([...ns, 'rollout', 'status', 'deployment', name, '--timeout=60s']);
  /** Waits for the rollout, then for the three pods to run `image`. */
  const rolledOutTo = async (image: string) => {
    await rolloutStatus();
    await eventually(async () => (await images()).join() === [image, image, image].join());
  };

  it('rolls out, records history, undoes, pauses, resumes and restarts', async () => {
    await c.k(['apply', '-f', '-'], { input: manifest('api:1') });
    expect(await rolloutStatus()).toContain('deployment "api" successfully rolled out');
    const get = await c.k([...ns, 'get', 'deployment', 'api']);
    expect(get).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(get).toMatch(/api\s+3\/3\s+3\s+3\s+/);
    const rs = await c.k([...ns, 'get', 'rs', '-l', 'app=api']);
    expect(rs).toMatch(/api-[a-z0-9]+\s+3\s+3\s+3\s+/);

    await c.k([...ns, 'set', 'image', 'deployment/api', 'api=api:2']);
    await rolledOutTo('api:2');
    const history = await c.k([...ns, 'rollout', 'history', 'deployment', 'api']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(history).toMatch(/^1\s+<none>/m);
    expect(history).toMatch(/^2\s+<none>/m);
    expect(await c.k([...ns, 'rollout', 'history', 'deployment', 'api', '--revision=1'])).toContain('api:1');

    expect(await c.k([...ns, 'rollout', 'undo', 'deployment', 'api'])).toContain(
      'deployment.apps/api rolled back',
    );
    await rolledOutTo('api:1');
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
    await rolledOutTo('api:3');

    const before = await podNames();
    expect(await c.k([...ns, 'rollout', 'restart', 'deployment', 'api'])).toContain(
      'deployment.apps/api restarted',
    );
    await rolloutStatus();
    await eventually(async () => {
      const now = (await podNames()).split(' ');
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
    await rolloutStatus('web');
    await c.k([...ns, 'set', 'image', 'deployment/web', 'web=web:2']);
    await rolloutStatus('web');
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
