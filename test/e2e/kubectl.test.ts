/**
 * Real kubectl 1.33 against a real `ordinal up`: every command's OUTPUT is compared
 * with what upstream kubectl prints against a real cluster.
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiClient } from './api.js';
import {
  cleanup,
  eventually,
  HAVE_KUBECTL,
  kubectlPath,
  type RunningCluster,
  SKIP_REASON,
  startOrdinal,
} from './harness.js';

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; operation: string }[];
    resourceVersion?: string;
    uid?: string;
  };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  items?: Obj[];
}

/** Splits a kubectl table into rows of whitespace-separated cells (columns have no spaces here). */
function rows(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}|\t/));
}

/** The header line of a kubectl table, normalised to single spaces between columns. */
function header(out: string): string {
  return (out.split('\n')[0] ?? '')
    .trim()
    .split(/\s{2,}/)
    .join(' ');
}

describe.skipIf(!HAVE_KUBECTL)(
  `kubectl 1.33 against ordinal up${HAVE_KUBECTL ? '' : ` (${SKIP_REASON})`}`,
  () => {
    let c: RunningCluster;
    let k: RunningCluster['k'];
    let kubectl: RunningCluster['kubectl'];

    const write = (name: string, text: string): string => {
      const p = join(c.dir, name);
      writeFileSync(p, text);
      return p;
    };
    const getJson = async (args: string[]): Promise<Obj> =>
      JSON.parse(await k([...args, '-o', 'json'])) as Obj;

    beforeAll(async () => {
      c = await startOrdinal();
      k = c.k;
      kubectl = c.kubectl;
    });
    afterAll(async () => {
      if (c) {
        await c.stop();
        cleanup(c);
      }
    });

    describe('discovery', () => {
      it('cluster-info prints the control plane URL', async () => {
        const out = await k(['cluster-info']);
        expect(out).toContain(`Kubernetes control plane is running at ${c.url}`);
        expect(out).toContain(
          "To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.",
        );
      });

      it('version reports a 1.33 server', async () => {
        const out = await k(['version']);
        expect(out).toMatch(/^Client Version: v1\.33\.\d+$/m);
        expect(out).toMatch(/^Server Version: v1\.33\.\d+/m);
        const v = JSON.parse(await k(['version', '-o', 'json'])) as {
          serverVersion: { major: string; minor: string; gitVersion: string };
        };
        expect(v.serverVersion.major).toBe('1');
        expect(v.serverVersion.minor).toBe('33');
      });

      it('api-resources lists the implemented kinds with upstream columns', async () => {
        const out = await k(['api-resources']);
        expect(header(out)).toBe('NAME SHORTNAMES APIVERSION NAMESPACED KIND');
        const lines = out.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
        for (const want of [
          'configmaps cm v1 true ConfigMap',
          'namespaces ns v1 false Namespace',
          'pods po v1 true Pod',
          'services svc v1 true Service',
          'serviceaccounts sa v1 true ServiceAccount',
          'secrets v1 true Secret',
          'deployments deploy apps/v1 true Deployment',
          'statefulsets sts apps/v1 true StatefulSet',
          'persistentvolumeclaims pvc v1 true PersistentVolumeClaim',
        ]) {
          expect(lines, want).toContain(want);
        }
        const apps = (await k(['api-resources', '--api-group=apps', '-o', 'name'])).split('\n');
        expect(apps).toContain('deployments.apps');
        expect(apps).toContain('statefulsets.apps');
        const cluster = (await k(['api-resources', '--namespaced=false', '-o', 'name'])).split('\n');
        expect(cluster).toContain('namespaces');
        expect(cluster).not.toContain('configmaps');
      });

      it('explain prints the schema of a kind and of a field', async () => {
        const cm = await k(['explain', 'configmap']);
        expect(cm).toMatch(/^KIND:\s+ConfigMap$/m);
        expect(cm).toMatch(/^VERSION:\s+v1$/m);
        expect(cm).toContain('DESCRIPTION:\n    ConfigMap holds configuration data for pods to consume.');
        expect(cm).toContain('FIELDS:\n');
        expect(cm).toContain('  data\t<map[string]string>');
        expect(cm).toContain('  metadata\t<ObjectMeta>');

        const f = await k(['explain', 'deployment.spec.replicas']);
        expect(f).toMatch(/^GROUP:\s+apps$/m);
        expect(f).toMatch(/^KIND:\s+Deployment$/m);
        expect(f).toMatch(/^VERSION:\s+v1$/m);
        expect(f).toContain('FIELD: replicas <integer>');
        expect(f).toContain('Number of desired pods.');

        const r = await kubectl(['explain', 'configmap.nope']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('field "nope" does not exist');
      });
    });

    describe('apply', () => {
      it('creates, leaves unchanged, configures and prunes removed keys (client-side apply)', async () => {
        await k(['create', 'namespace', 'ap1']);
        const text = (a: string, extra = ''): string =>
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: ap1\ndata:\n  a: "${a}"\n${extra}`;
        const f = write('ap1-cm.yaml', text('1', '  b: "x"\n'));
        expect(await k(['apply', '-f', f])).toBe('configmap/cfg created\n');
        expect(await k(['apply', '-f', f])).toBe('configmap/cfg unchanged\n');
        write('ap1-cm.yaml', text('2'));
        expect(await k(['apply', '-f', f])).toBe('configmap/cfg configured\n');
        const cm = await getJson(['-n', 'ap1', 'get', 'cm', 'cfg']);
        expect(cm.data).toEqual({ a: '2' });
        const last = JSON.parse(
          cm.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}',
        );
        expect(last.data).toEqual({ a: '2' });
      });

      it('applies a multi-document manifest and re-applies after editing it', async () => {
        const manifest = (image: string, replicas: number): string => `apiVersion: v1
kind: Namespace
metadata:
  name: ap2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: ap2
  labels: {app: api}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 80}]
      - name: side
        image: busybox:1.36
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: ap2
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 80}]
`;
        const f = write('ap2.yaml', manifest('nginx:1.25', 2));
        expect(await k(['apply', '-f', f])).toBe(
          'namespace/ap2 created\ndeployment.apps/api created\nservice/api created\n',
        );
        write('ap2.yaml', manifest('nginx:1.26', 3));
        expect(await k(['apply', '-f', f])).toBe(
          'namespace/ap2 unchanged\ndeployment.apps/api configured\nservice/api unchanged\n',
        );
        const d = await getJson(['-n', 'ap2', 'get', 'deploy', 'api']);
        expect(d.spec?.replicas).toBe(3);
        expect(
          await k([
            '-n',
            'ap2',
            'get',
            'deploy',
            'api',
            '-o',
            'jsonpath={.spec.template.spec.containers[*].image}',
          ]),
        ).toBe('nginx:1.26 busybox:1.36');
        // Upstream allocates a ClusterIP from the service CIDR (10.96.0.0/12 by default).
        expect(await k(['-n', 'ap2', 'get', 'svc', 'api', '-o', 'jsonpath={.spec.clusterIP}'])).toMatch(
          /^\d+\.\d+\.\d+\.\d+$/,
        );
      });

      it('--record stores the change-cause annotation', async () => {
        await k(['create', 'namespace', 'ap3']);
        const f = write(
          'ap3.yaml',
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rec\n  namespace: ap3\ndata:\n  a: "1"\n',
        );
        const r = await kubectl(['apply', '-f', f, '--record']);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('configmap/rec created\n');
        expect(r.stderr).toContain('Flag --record has been deprecated');
        const cm = await getJson(['-n', 'ap3', 'get', 'cm', 'rec']);
        const cause = cm.metadata.annotations?.['kubernetes.io/change-cause'] ?? '';
        expect(cause).toMatch(/^kubectl(\.1\.33)? apply .*--record=true$/);
        expect(cause).toContain(`--filename=${f}`);
      });

      it('create --save-config writes last-applied-configuration that a later apply uses', async () => {
        await k(['create', 'namespace', 'ap4']);
        expect(
          await k(['-n', 'ap4', 'create', 'configmap', 'sc', '--from-literal=a=1', '--save-config']),
        ).toBe('configmap/sc created\n');
        const cm = await getJson(['-n', 'ap4', 'get', 'cm', 'sc']);
        const last = JSON.parse(
          cm.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}',
        );
        expect(last).toMatchObject({ kind: 'ConfigMap', data: { a: '1' }, metadata: { name: 'sc' } });
        const f = write(
          'ap4.yaml',
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sc\n  namespace: ap4\ndata:\n  a: "1"\n',
        );
        const r = await kubectl(['apply', '-f', f]);
        expect(r.code).toBe(0);
        // No "missing last-applied-configuration" warning: --save-config recorded it.
        expect(r.stderr).not.toContain('missing the kubectl.kubernetes.io/last-applied-configuration');
        expect(r.stdout).toMatch(/^configmap\/sc (unchanged|configured)\n$/);
      });

      it('--server-side applies, tracks managers and reports conflicts', async () => {
        await k(['create', 'namespace', 'ap5']);
        const text = (a: string): string =>
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: ap5\ndata:\n  a: "${a}"\n`;
        const f = write('ap5.yaml', text('1'));
        expect(await k(['apply', '--server-side', '-f', f])).toBe('configmap/ssa serverside-applied\n');
        expect(await k(['apply', '--server-side', '-f', f])).toBe('configmap/ssa serverside-applied\n');
        let cm = await getJson(['-n', 'ap5', 'get', 'cm', 'ssa', '--show-managed-fields']);
        expect(cm.metadata.managedFields).toEqual(
          expect.arrayContaining([expect.objectContaining({ manager: 'kubectl', operation: 'Apply' })]),
        );
        const f2 = write('ap5b.yaml', text('2'));
        const conflict = await kubectl(['apply', '--server-side', '--field-manager=other', '-f', f2]);
        expect(conflict.code).toBe(1);
        expect(conflict.stderr).toContain(
          'error: Apply failed with 1 conflict: conflict with "kubectl": .data.a',
        );
        expect(
          await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', f2]),
        ).toBe('configmap/ssa serverside-applied\n');
        cm = await getJson(['-n', 'ap5', 'get', 'cm', 'ssa']);
        expect(cm.data).toEqual({ a: '2' });
        // Server-side apply creates missing objects too.
        const f3 = write('ap5c.yaml', text('3').replace('name: ssa', 'name: fresh'));
        expect(await k(['apply', '--server-side', '-f', f3])).toBe('configmap/fresh serverside-applied\n');
      });

      it('reports an invalid object the way upstream does', async () => {
        await k(['create', 'namespace', 'ap6']);
        const f = write(
          'ap6.yaml',
          `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: ap6}
spec:
  replicas: -1
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: c, image: nginx}]
`,
        );
        const r = await kubectl(['apply', '-f', f]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('The Deployment "bad" is invalid:');
        expect(r.stderr).toContain('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
      });
    });

    describe('create', () => {
      it('creates objects with generators and from files', async () => {
        expect(await k(['create', 'namespace', 'cr1'])).toBe('namespace/cr1 created\n');
        expect(await k(['-n', 'cr1', 'create', 'configmap', 'cfg', '--from-literal=k=v'])).toBe(
          'configmap/cfg created\n',
        );
        expect(await k(['-n', 'cr1', 'create', 'secret', 'generic', 'sec', '--from-literal=p=q'])).toBe(
          'secret/sec created\n',
        );
        expect(
          await k(['-n', 'cr1', 'create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=2']),
        ).toBe('deployment.apps/api created\n');
        expect(await k(['-n', 'cr1', 'create', 'serviceaccount', 'bot'])).toBe(
          'serviceaccount/bot created\n',
        );
        const f = write(
          'cr1.yaml',
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromfile\n  namespace: cr1\n',
        );
        expect(await k(['create', '-f', f])).toBe('configmap/fromfile created\n');

        const secret = await getJson(['-n', 'cr1', 'get', 'secret', 'sec']);
        expect((secret as unknown as { data: Record<string, string> }).data.p).toBe(
          Buffer.from('q').toString('base64'),
        );
        expect(await k(['-n', 'cr1', 'get', 'cm', 'cfg', '-o', 'jsonpath={.data.k}'])).toBe('v');
      });

      it('reports AlreadyExists like upstream', async () => {
        await k(['create', 'namespace', 'cr2']);
        await k(['-n', 'cr2', 'create', 'configmap', 'dup']);
        const r1 = await kubectl(['-n', 'cr2', 'create', 'configmap', 'dup']);
        expect(r1.code).toBe(1);
        expect(r1.stderr).toBe('error: failed to create configmap: configmaps "dup" already exists\n');
        const f = write(
          'cr2.yaml',
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  namespace: cr2\n',
        );
        const r2 = await kubectl(['create', '-f', f]);
        expect(r2.code).toBe(1);
        expect(r2.stderr).toBe(
          `Error from server (AlreadyExists): error when creating "${f}": configmaps "dup" already exists\n`,
        );
      });
    });

    describe('get', () => {
      beforeAll(async () => {
        await k(['create', 'namespace', 'g1']);
        await k(['-n', 'g1', 'create', 'configmap', 'one', '--from-literal=a=1']);
        await k(['-n', 'g1', 'create', 'configmap', 'two', '--from-literal=a=1', '--from-literal=b=2']);
        await k(['-n', 'g1', 'label', 'configmap', 'one', 'tier=front']);
        await k(['-n', 'g1', 'create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=2']);
        await k(['-n', 'g1', 'run', 'solo', '--image=busybox:1.36', '--labels=run=solo']);
      });

      it('prints default tables with upstream columns', async () => {
        const cms = await k(['-n', 'g1', 'get', 'configmaps']);
        expect(header(cms)).toBe('NAME DATA AGE');
        const cmRows = rows(cms).slice(1);
        expect(cmRows.find((r) => r[0] === 'one')?.[1]).toBe('1');
        expect(cmRows.find((r) => r[0] === 'two')?.[1]).toBe('2');

        const deps = await k(['-n', 'g1', 'get', 'deployments']);
        expect(header(deps)).toBe('NAME READY UP-TO-DATE AVAILABLE AGE');
        expect(rows(deps)[1]?.slice(0, 2)).toEqual(['api', expect.stringMatching(/^\d\/2$/)]);

        const pods = await k(['-n', 'g1', 'get', 'pods', 'solo']);
        expect(header(pods)).toBe('NAME READY STATUS RESTARTS AGE');
        expect(rows(pods)[1]?.[0]).toBe('solo');
        expect(rows(pods)[1]?.[1]).toMatch(/^[01]\/1$/);

        const ns = await k(['get', 'namespaces']);
        expect(header(ns)).toBe('NAME STATUS AGE');
        const nsNames = rows(ns).map((r) => r[0]);
        expect(nsNames).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'g1']));
        expect(rows(ns).find((r) => r[0] === 'g1')?.[1]).toBe('Active');
      });

      it('-o wide adds the priority columns', async () => {
        const deps = await k(['-n', 'g1', 'get', 'deployments', '-o', 'wide']);
        expect(header(deps)).toBe('NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR');
        expect(rows(deps)[1]?.slice(5)).toEqual(['nginx', 'nginx:1.25', 'app=api']);
        const pods = await k(['-n', 'g1', 'get', 'pods', 'solo', '-o', 'wide']);
        expect(header(pods)).toBe('NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES');
      });

      it('-o yaml, -o json, -o name and -o jsonpath return the real objects', async () => {
        const y = parse(await k(['-n', 'g1', 'get', 'configmap', 'two', '-o', 'yaml'])) as Obj;
        expect(y).toMatchObject({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'two', namespace: 'g1' },
          data: { a: '1', b: '2' },
        });
        expect(y.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
        expect(y.metadata.resourceVersion).toMatch(/^\d+$/);

        const list = await getJson(['-n', 'g1', 'get', 'configmaps']);
        expect(list.kind).toBe('List');
        expect(list.items?.map((i) => i.metadata.name)).toEqual(expect.arrayContaining(['one', 'two']));

        const names = await k(['-n', 'g1', 'get', 'configmaps,deployments', '-o', 'name']);
        expect(names.split('\n')).toEqual(
          expect.arrayContaining(['configmap/one', 'configmap/two', 'deployment.apps/api']),
        );
        expect(await k(['-n', 'g1', 'get', 'cm', 'two', '-o', 'jsonpath={.data.b}'])).toBe('2');
        expect(
          await k([
            '-n',
            'g1',
            'get',
            'deploy',
            '-o',
            'jsonpath={range .items[*]}{.metadata.name}:{.spec.replicas}{"\\n"}{end}',
          ]),
        ).toBe('api:2\n');
      });

      it('multi-kind get prefixes names with kind.group', async () => {
        const out = await k(['-n', 'g1', 'get', 'deployments,configmaps']);
        expect(out).toMatch(/^deployment\.apps\/api\s+/m);
        expect(out).toMatch(/^configmap\/one\s+1\s+/m);
      });

      it('-l and --field-selector filter', async () => {
        const byLabel = await k(['-n', 'g1', 'get', 'configmaps', '-l', 'tier=front', '-o', 'name']);
        expect(byLabel).toBe('configmap/one\n');
        const notLabel = await k(['-n', 'g1', 'get', 'configmaps', '-l', 'tier!=front', '-o', 'name']);
        expect(notLabel.split('\n')).toContain('configmap/two');
        expect(notLabel.split('\n')).not.toContain('configmap/one');
        const byField = await k([
          '-n',
          'g1',
          'get',
          'configmaps',
          '--field-selector',
          'metadata.name=two',
          '-o',
          'name',
        ]);
        expect(byField).toBe('configmap/two\n');
        const labelCol = await k(['-n', 'g1', 'get', 'configmaps', 'one', '-L', 'tier']);
        expect(header(labelCol)).toBe('NAME DATA AGE TIER');
        expect(rows(labelCol)[1]?.[3]).toBe('front');
        const showLabels = await k(['-n', 'g1', 'get', 'configmaps', 'one', '--show-labels']);
        expect(header(showLabels)).toBe('NAME DATA AGE LABELS');
        expect(rows(showLabels)[1]?.[3]).toBe('tier=front');
        const all = await k([
          'get',
          'configmaps',
          '-A',
          '--field-selector',
          'metadata.namespace=g1',
          '-o',
          'name',
        ]);
        expect(all.split('\n').filter(Boolean).sort()).toEqual(
          expect.arrayContaining(['configmap/one', 'configmap/two']),
        );
        const none = await kubectl(['-n', 'g1', 'get', 'configmaps', '-l', 'tier=nope']);
        expect(none.code).toBe(0);
        expect(none.stdout).toBe('');
        expect(none.stderr).toBe('No resources found in g1 namespace.\n');
        const bad = await kubectl(['-n', 'g1', 'get', 'configmaps', '--field-selector', 'data.a=1']);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('field label not supported: data.a');
      });

      it('-A adds the NAMESPACE column', async () => {
        const out = await k(['get', 'configmaps', '-A', '-l', 'tier=front']);
        expect(header(out)).toBe('NAMESPACE NAME DATA AGE');
        expect(rows(out)[1]?.slice(0, 3)).toEqual(['g1', 'one', '1']);
      });

      it('reports NotFound like upstream', async () => {
        const r = await kubectl(['-n', 'g1', 'get', 'configmap', 'nope']);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe('Error from server (NotFound): configmaps "nope" not found\n');
        const r2 = await kubectl(['get', 'flurbs']);
        expect(r2.code).toBe(1);
        expect(r2.stderr).toContain(`error: the server doesn't have a resource type "flurbs"`);
      });

      it('-w streams added and modified objects', async () => {
        await k(['create', 'namespace', 'w1']);
        await k(['-n', 'w1', 'create', 'configmap', 'first', '--from-literal=a=1']);
        const bin = kubectlPath('1.33')!;
        const child = spawn(
          bin,
          [
            '--kubeconfig',
            c.kubeconfig,
            '--cache-dir',
            join(c.dir, 'kcache'),
            '-n',
            'w1',
            'get',
            'configmaps',
            '-w',
          ],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          out += d.toString();
        });
        try {
          await eventually(async () => /^first\s+1\s+/m.test(out), 20_000);
          await k(['-n', 'w1', 'create', 'configmap', 'second', '--from-literal=a=1', '--from-literal=b=2']);
          await eventually(async () => /^second\s+2\s+/m.test(out), 20_000);
          await k(['-n', 'w1', 'patch', 'configmap', 'first', '--type=merge', '-p', '{"data":{"c":"3"}}']);
          await eventually(async () => /^first\s+2\s+/m.test(out), 20_000);
          await k(['-n', 'w1', 'delete', 'configmap', 'second']);
        } finally {
          child.kill('SIGTERM');
        }
        const lines = out.trim().split('\n');
        expect(header(lines[0] ?? '')).toBe('NAME DATA AGE');
        // The header is printed once; each event adds one row.
        expect(lines.filter((l) => l.startsWith('NAME')).length).toBe(1);
        expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(
          expect.arrayContaining(['first 1', 'second 2', 'first 2']),
        );
      });

      it('Services show an allocated CLUSTER-IP', async () => {
        await k(['create', 'namespace', 'g2']);
        expect(await k(['-n', 'g2', 'create', 'service', 'clusterip', 'web', '--tcp=80:8080'])).toBe(
          'service/web created\n',
        );
        const out = await k(['-n', 'g2', 'get', 'services', '-o', 'wide']);
        expect(header(out)).toBe('NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR');
        const row = rows(out)[1] ?? [];
        expect(row[0]).toBe('web');
        expect(row[1]).toBe('ClusterIP');
        expect(row[2]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(row.slice(3, 5)).toEqual(['<none>', '80/TCP']);
        expect(row[6]).toBe('app=web');
      });
    });

    describe('describe', () => {
      it('describes a ConfigMap, a Deployment and a Namespace', async () => {
        await k(['create', 'namespace', 'ds1']);
        await k(['-n', 'ds1', 'create', 'configmap', 'cfg', '--from-literal=greeting=hello']);
        await k(['-n', 'ds1', 'label', 'configmap', 'cfg', 'app=web']);
        const cm = await k(['-n', 'ds1', 'describe', 'configmap', 'cfg']);
        expect(cm).toMatch(/^Name:\s+cfg$/m);
        expect(cm).toMatch(/^Namespace:\s+ds1$/m);
        expect(cm).toMatch(/^Labels:\s+app=web$/m);
        expect(cm).toMatch(/^Annotations:\s+<none>$/m);
        expect(cm).toContain('Data\n====\ngreeting:\n----\nhello\n');
        expect(cm).toContain('BinaryData\n====\n');

        await k(['-n', 'ds1', 'create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=2']);
        const d = await k(['-n', 'ds1', 'describe', 'deployment', 'api']);
        expect(d).toMatch(/^Name:\s+api$/m);
        expect(d).toMatch(/^Namespace:\s+ds1$/m);
        expect(d).toMatch(/^Selector:\s+app=api$/m);
        expect(d).toMatch(
          /^Replicas:\s+2 desired \| \d+ updated \| \d+ total \| \d+ available \| \d+ unavailable$/m,
        );
        expect(d).toMatch(/^StrategyType:\s+RollingUpdate$/m);
        expect(d).toMatch(/^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$/m);
        expect(d).toMatch(/^\s+Image:\s+nginx:1\.25$/m);

        const ns = await k(['describe', 'namespace', 'ds1']);
        expect(ns).toMatch(/^Name:\s+ds1$/m);
        expect(ns).toMatch(/^Labels:\s+kubernetes\.io\/metadata\.name=ds1$/m);
        expect(ns).toMatch(/^Status:\s+Active$/m);

        const r = await kubectl(['-n', 'ds1', 'describe', 'configmap', 'nope']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('Error from server (NotFound): configmaps "nope" not found');
      });
    });

    describe('label and annotate', () => {
      it('adds, overwrites and removes labels and annotations', async () => {
        await k(['create', 'namespace', 'la1']);
        await k(['-n', 'la1', 'create', 'configmap', 'cfg']);
        expect(await k(['-n', 'la1', 'label', 'configmap', 'cfg', 'app=web'])).toBe(
          'configmap/cfg labeled\n',
        );
        const r = await kubectl(['-n', 'la1', 'label', 'configmap', 'cfg', 'app=db']);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe("error: 'app' already has a value (web), and --overwrite is false\n");
        expect(await k(['-n', 'la1', 'label', 'configmap', 'cfg', 'app=db', '--overwrite'])).toBe(
          'configmap/cfg labeled\n',
        );
        expect(await k(['-n', 'la1', 'get', 'cm', 'cfg', '-o', 'jsonpath={.metadata.labels.app}'])).toBe(
          'db',
        );
        expect(await k(['-n', 'la1', 'label', 'configmap', 'cfg', 'app-'])).toBe('configmap/cfg unlabeled\n');
        expect(await k(['-n', 'la1', 'get', 'cm', 'cfg', '-o', 'jsonpath={.metadata.labels}'])).toBe('');

        expect(await k(['-n', 'la1', 'annotate', 'configmap', 'cfg', 'note=hello world'])).toBe(
          'configmap/cfg annotated\n',
        );
        expect(
          await k(['-n', 'la1', 'get', 'cm', 'cfg', '-o', 'jsonpath={.metadata.annotations.note}']),
        ).toBe('hello world');
        const r2 = await kubectl(['-n', 'la1', 'annotate', 'configmap', 'cfg', 'note=x']);
        expect(r2.code).toBe(1);
        expect(r2.stderr).toBe(
          "error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (hello world)\n",
        );
        expect(await k(['-n', 'la1', 'annotate', 'configmap', 'cfg', 'note-'])).toBe(
          'configmap/cfg annotated\n',
        );

        const bad = await kubectl(['-n', 'la1', 'label', 'configmap', 'cfg', 'bad key=v']);
        expect(bad.code).not.toBe(0);
      });

      it('labels many objects by selector', async () => {
        await k(['create', 'namespace', 'la2']);
        await k(['-n', 'la2', 'create', 'configmap', 'a']);
        await k(['-n', 'la2', 'create', 'configmap', 'b']);
        await k(['-n', 'la2', 'label', 'configmap', 'a', 'b', 'mine=yes']);
        const out = await k(['-n', 'la2', 'label', 'configmap', '-l', 'mine=yes', 'batch=1']);
        expect(out.split('\n').filter(Boolean).sort()).toEqual([
          'configmap/a labeled',
          'configmap/b labeled',
        ]);
        expect(await k(['-n', 'la2', 'get', 'cm', '-l', 'batch=1', '-o', 'name'])).toBe(
          'configmap/a\nconfigmap/b\n',
        );
      });

      it('rejects an invalid label value with the upstream Invalid message', async () => {
        await k(['create', 'namespace', 'la3']);
        await k(['-n', 'la3', 'create', 'configmap', 'cfg']);
        // kubectl label checks values itself, so go through patch to reach the server's validation.
        const long = 'v'.repeat(64);
        const r = await kubectl([
          '-n',
          'la3',
          'patch',
          'configmap',
          'cfg',
          '--type=merge',
          '-p',
          JSON.stringify({ metadata: { labels: { x: long } } }),
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
          `The ConfigMap "cfg" is invalid: metadata.labels: Invalid value: "${long}": must be no more than 63 characters\n`,
        );
      });
    });

    describe('patch', () => {
      beforeAll(async () => {
        await k(['create', 'namespace', 'pt1']);
        const f = write(
          'pt1.yaml',
          `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: pt1}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: web, image: nginx:1.25}
      - {name: side, image: busybox:1.36}
`,
        );
        await k(['apply', '-f', f]);
      });

      it('strategic merge patch merges containers by name', async () => {
        expect(
          await k([
            '-n',
            'pt1',
            'patch',
            'deployment',
            'api',
            '-p',
            '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}',
          ]),
        ).toBe('deployment.apps/api patched\n');
        expect(
          await k([
            '-n',
            'pt1',
            'get',
            'deploy',
            'api',
            '-o',
            'jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}',
          ]),
        ).toBe('web=nginx:1.26 side=busybox:1.36 ');
        expect(
          await k([
            '-n',
            'pt1',
            'patch',
            'deployment',
            'api',
            '--type=strategic',
            '-p',
            '{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}',
          ]),
        ).toBe('deployment.apps/api patched\n');
        expect(
          await k([
            '-n',
            'pt1',
            'get',
            'deploy',
            'api',
            '-o',
            'jsonpath={.spec.template.spec.containers[*].name}',
          ]),
        ).toBe('web');
      });

      it('merge patch replaces lists and deletes with null', async () => {
        expect(
          await k([
            '-n',
            'pt1',
            'patch',
            'deployment',
            'api',
            '--type=merge',
            '-p',
            '{"metadata":{"labels":{"team":"a","x":"y"}}}',
          ]),
        ).toBe('deployment.apps/api patched\n');
        expect(
          await k([
            '-n',
            'pt1',
            'patch',
            'deployment',
            'api',
            '--type=merge',
            '-p',
            '{"metadata":{"labels":{"x":null}}}',
          ]),
        ).toBe('deployment.apps/api patched\n');
        expect(await k(['-n', 'pt1', 'get', 'deploy', 'api', '-o', 'jsonpath={.metadata.labels}'])).toBe(
          '{"team":"a"}',
        );
      });

      it('JSON patch applies operations and reports no-ops', async () => {
        expect(
          await k([
            '-n',
            'pt1',
            'patch',
            'deployment',
            'api',
            '--type=json',
            '-p',
            '[{"op":"replace","path":"/spec/replicas","value":4}]',
          ]),
        ).toBe('deployment.apps/api patched\n');
        expect(await k(['-n', 'pt1', 'get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe('4');
        expect(
          await k([
            '-n',
            'pt1',
            'patch',
            'deployment',
            'api',
            '--type=json',
            '-p',
            '[{"op":"replace","path":"/spec/replicas","value":4}]',
          ]),
        ).toBe('deployment.apps/api patched (no change)\n');
        const r = await kubectl([
          '-n',
          'pt1',
          'patch',
          'deployment',
          'api',
          '--type=json',
          '-p',
          '[{"op":"test","path":"/spec/replicas","value":9}]',
        ]);
        expect(r.code).toBe(1);
        // A failed JSON-patch "test" op is a 422 without kind/name details upstream.
        expect(r.stderr).toMatch(/^The request is invalid/);
      });

      it('dry-run patch does not persist', async () => {
        const out = await k([
          '-n',
          'pt1',
          'patch',
          'deployment',
          'api',
          '--type=merge',
          '--dry-run=server',
          '-p',
          '{"spec":{"replicas":7}}',
        ]);
        // kubectl 1.33's patch prints no "(server dry run)" suffix; it does send dryRun=All.
        expect(out).toBe('deployment.apps/api patched\n');
        expect(await k(['-n', 'pt1', 'get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe('4');
      });
    });

    describe('edit', () => {
      it('edits through KUBE_EDITOR and cancels unchanged edits', async () => {
        await k(['create', 'namespace', 'ed1']);
        await k(['-n', 'ed1', 'create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=1']);
        const editor = write('editor.sh', '#!/bin/sh\nsed -i "s/replicas: 1$/replicas: 5/" "$1"\n');
        chmodSync(editor, 0o755);
        expect(await k(['-n', 'ed1', 'edit', 'deployment', 'api'], { env: { KUBE_EDITOR: editor } })).toBe(
          'deployment.apps/api edited\n',
        );
        expect(await k(['-n', 'ed1', 'get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
        const r = await kubectl(['-n', 'ed1', 'edit', 'deployment', 'api'], { env: { KUBE_EDITOR: 'true' } });
        expect(r.code).toBe(0);
        expect(r.stderr + r.stdout).toContain('Edit cancelled, no changes made.');

        // An edit the server rejects: kubectl reports the error and keeps a copy.
        const bad = write('bad-editor.sh', '#!/bin/sh\nsed -i "s/replicas: 5$/replicas: -3/" "$1"\n');
        chmodSync(bad, 0o755);
        const r2 = await kubectl(['-n', 'ed1', 'edit', 'deployment', 'api'], { env: { KUBE_EDITOR: bad } });
        expect(r2.code).toBe(1);
        expect(r2.stderr).toContain('error: deployments.apps "api" is invalid\n');
        expect(r2.stderr).toContain('error: Edit cancelled, no valid changes were saved.\n');
        const copy = /A copy of your changes has been stored to "([^"]+)"/.exec(r2.stderr)?.[1];
        expect(copy).toBeDefined();
        const saved = readFileSync(copy!, 'utf8');
        rmSync(copy!, { force: true });
        expect(saved).toContain('# deployments.apps "api" was not valid:');
        expect(saved).toContain('# * spec.replicas: Invalid value: -3: must be greater than or equal to 0');
        expect(await k(['-n', 'ed1', 'get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
      });
    });

    describe('delete', () => {
      it('deletes by name, by file and by label', async () => {
        await k(['create', 'namespace', 'dl1']);
        await k(['-n', 'dl1', 'create', 'configmap', 'a']);
        await k(['-n', 'dl1', 'create', 'configmap', 'b']);
        await k(['-n', 'dl1', 'create', 'configmap', 'c']);
        await k(['-n', 'dl1', 'label', 'configmap', 'a', 'b', 'c', 'mine=yes']);
        await k(['-n', 'dl1', 'label', 'configmap', 'c', 'x=1']);
        expect(await k(['-n', 'dl1', 'delete', 'configmap', 'a'])).toBe('configmap "a" deleted\n');
        const f = write(
          'dl1.yaml',
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: dl1\n',
        );
        expect(await k(['delete', '-f', f])).toBe('configmap "b" deleted\n');
        expect(await k(['-n', 'dl1', 'delete', 'configmap', '-l', 'x=1'])).toBe('configmap "c" deleted\n');
        const r = await kubectl(['-n', 'dl1', 'delete', 'configmap', 'a']);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe('Error from server (NotFound): configmaps "a" not found\n');
        const ign = await kubectl(['-n', 'dl1', 'delete', 'configmap', 'a', '--ignore-not-found']);
        expect(ign.code).toBe(0);
        expect(ign.stdout).toBe('');
        const none = await kubectl(['-n', 'dl1', 'get', 'configmaps', '-l', 'mine=yes']);
        expect(none.stderr).toBe('No resources found in dl1 namespace.\n');
      });

      it('delete namespace cascades to its contents', async () => {
        await k(['create', 'namespace', 'dl2']);
        await k(['-n', 'dl2', 'create', 'configmap', 'cfg']);
        await k(['-n', 'dl2', 'create', 'secret', 'generic', 'sec', '--from-literal=a=b']);
        await k(['-n', 'dl2', 'create', 'deployment', 'api', '--image=nginx']);
        await k(['-n', 'dl2', 'create', 'serviceaccount', 'bot']);
        expect(await k(['delete', 'namespace', 'dl2'])).toBe('namespace "dl2" deleted\n');
        const r = await kubectl(['get', 'namespace', 'dl2']);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe('Error from server (NotFound): namespaces "dl2" not found\n');
        for (const kind of ['configmaps', 'secrets', 'deployments', 'serviceaccounts']) {
          const left = await k([
            'get',
            kind,
            '-A',
            '--field-selector',
            'metadata.namespace=dl2',
            '-o',
            'name',
          ]);
          expect(left, kind).toBe('');
        }
        // The namespace can be created again, empty.
        expect(await k(['create', 'namespace', 'dl2'])).toBe('namespace/dl2 created\n');
        expect(await k(['-n', 'dl2', 'get', 'configmaps', '-o', 'name'])).not.toContain('configmap/cfg');
      });
    });

    describe('auth', () => {
      it('auth can-i answers yes for the admin', async () => {
        expect(await k(['auth', 'can-i', 'create', 'pods'])).toBe('yes\n');
        expect(await k(['auth', 'can-i', 'delete', 'namespaces'])).toBe('yes\n');
        expect(await k(['auth', 'can-i', '*', '*'])).toBe('yes\n');
        expect(await k(['auth', 'can-i', 'list', 'deployments.apps', '-n', 'kube-system'])).toBe('yes\n');
        const list = await k(['auth', 'can-i', '--list']);
        expect(header(list)).toBe('Resources Non-Resource URLs Resource Names Verbs');
        expect(list).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
      });

      it('auth whoami shows the admin identity', async () => {
        const out = await k(['auth', 'whoami']);
        expect(header(out)).toBe('ATTRIBUTE VALUE');
        expect(out).toMatch(/^Groups\s+\[.*system:masters.*\]$/m);
        expect(out).toMatch(/^Username\s+\S+$/m);
      });

      it('create token issues a ServiceAccount JWT the server accepts', async () => {
        await k(['create', 'namespace', 'tk1']);
        await k(['-n', 'tk1', 'create', 'serviceaccount', 'bot']);
        const token = (await k(['-n', 'tk1', 'create', 'token', 'bot', '--duration=10m'])).trim();
        const parts = token.split('.');
        expect(parts).toHaveLength(3);
        const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as {
          sub: string;
          exp: number;
          iat: number;
        };
        expect(payload.sub).toBe('system:serviceaccount:tk1:bot');
        expect(payload.exp - payload.iat).toBe(600);

        const api = apiClient(c, { token });
        try {
          const r = await api.json<{ status: { userInfo: { username: string; groups: string[] } } }>(
            'POST',
            '/apis/authentication.k8s.io/v1/selfsubjectreviews',
            { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
          );
          expect(r.status).toBe(201);
          expect(r.body.status.userInfo.username).toBe('system:serviceaccount:tk1:bot');
          expect(r.body.status.userInfo.groups).toEqual(
            expect.arrayContaining([
              'system:serviceaccounts',
              'system:serviceaccounts:tk1',
              'system:authenticated',
            ]),
          );
        } finally {
          api.close();
        }

        const missing = await kubectl(['-n', 'tk1', 'create', 'token', 'ghost']);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toBe('error: failed to create token: serviceaccounts "ghost" not found\n');
      });

      it('every new namespace gets a default ServiceAccount', async () => {
        await k(['create', 'namespace', 'tk2']);
        await eventually(
          async () => (await kubectl(['-n', 'tk2', 'get', 'serviceaccount', 'default'])).code === 0,
          10_000,
        );
        expect((await k(['-n', 'tk2', 'create', 'token', 'default'])).trim().split('.')).toHaveLength(3);
      });
    });
  },
);
