/**
 * The oldest supported client, kubectl 1.27, for a subset of commands. 1.27 still
 * needs /openapi/v2 (protobuf) for apply's validation and for explain.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  HAVE_KUBECTL,
  kubectlPath,
  type RunningCluster,
  SKIP_REASON,
  startOrdinal,
} from './harness.js';

const HAVE_127 = HAVE_KUBECTL && kubectlPath('1.27') !== undefined;
const V = { version: '1.27' };

function header(out: string): string {
  return (out.split('\n')[0] ?? '')
    .trim()
    .split(/\s{2,}/)
    .join(' ');
}

describe.skipIf(!HAVE_127)(`kubectl 1.27 against ordinal up${HAVE_127 ? '' : ` (${SKIP_REASON})`}`, () => {
  let c: RunningCluster;
  const k = (args: string[]): Promise<string> => c.k(args, V);
  const kubectl = (args: string[]) => c.kubectl(args, V);

  beforeAll(async () => {
    c = await startOrdinal();
  });
  afterAll(async () => {
    if (c) {
      await c.stop();
      cleanup(c);
    }
  });

  it('cluster-info and api-resources', async () => {
    // kubectl 1.27 colours cluster-info output even when stdout is not a terminal.
    const info = (await k(['cluster-info'])).replace(/\u001b\[[0-9;]*m/g, '');
    expect(info).toContain(`Kubernetes control plane is running at ${c.url}`);
    const res = await k(['api-resources']);
    expect(header(res)).toBe('NAME SHORTNAMES APIVERSION NAMESPACED KIND');
    expect(res.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toContain(
      'deployments deploy apps/v1 true Deployment',
    );
  });

  it('create, get (default, wide, yaml, jsonpath, -l, --field-selector), label, delete', async () => {
    expect(await k(['create', 'namespace', 'o1'])).toBe('namespace/o1 created\n');
    expect(await k(['-n', 'o1', 'create', 'configmap', 'cfg', '--from-literal=a=1'])).toBe(
      'configmap/cfg created\n',
    );
    expect(await k(['-n', 'o1', 'create', 'deployment', 'api', '--image=nginx:1.25'])).toBe(
      'deployment.apps/api created\n',
    );
    expect(await k(['-n', 'o1', 'label', 'configmap', 'cfg', 'tier=x'])).toBe('configmap/cfg labeled\n');
    const cms = await k(['-n', 'o1', 'get', 'configmaps', 'cfg']);
    expect(header(cms)).toBe('NAME DATA AGE');
    expect(cms.split('\n')[1]).toMatch(/^cfg\s+1\s+\d+s$/);
    const wide = await k(['-n', 'o1', 'get', 'deployments', '-o', 'wide']);
    expect(header(wide)).toBe('NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR');
    expect(await k(['-n', 'o1', 'get', 'configmap', 'cfg', '-o', 'yaml'])).toMatch(/^kind: ConfigMap$/m);
    expect(await k(['-n', 'o1', 'get', 'configmap', 'cfg', '-o', 'jsonpath={.data.a}'])).toBe('1');
    expect(await k(['-n', 'o1', 'get', 'configmaps', '-l', 'tier=x', '-o', 'name'])).toBe('configmap/cfg\n');
    expect(
      await k(['-n', 'o1', 'get', 'configmaps', '--field-selector', 'metadata.name=cfg', '-o', 'name']),
    ).toBe('configmap/cfg\n');
    const nf = await kubectl(['-n', 'o1', 'get', 'configmap', 'nope']);
    expect(nf.code).toBe(1);
    expect(nf.stderr).toBe('Error from server (NotFound): configmaps "nope" not found\n');
    expect(await k(['-n', 'o1', 'delete', 'configmap', 'cfg'])).toBe('configmap "cfg" deleted\n');
    expect(await k(['auth', 'can-i', 'create', 'pods'])).toBe('yes\n');
  });

  it('patch (all three types)', async () => {
    await k(['create', 'namespace', 'o2']);
    await k(['-n', 'o2', 'create', 'configmap', 'cfg', '--from-literal=a=1']);
    expect(await k(['-n', 'o2', 'patch', 'configmap', 'cfg', '-p', '{"data":{"b":"2"}}'])).toBe(
      'configmap/cfg patched\n',
    );
    expect(
      await k(['-n', 'o2', 'patch', 'configmap', 'cfg', '--type=merge', '-p', '{"data":{"a":null}}']),
    ).toBe('configmap/cfg patched\n');
    expect(
      await k([
        '-n',
        'o2',
        'patch',
        'configmap',
        'cfg',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/data/c","value":"3"}]',
      ]),
    ).toBe('configmap/cfg patched\n');
    expect(await k(['-n', 'o2', 'get', 'configmap', 'cfg', '-o', 'jsonpath={.data}'])).toBe(
      '{"b":"2","c":"3"}',
    );
  });

  // Without --validate=false: kubectl 1.27 downloads /openapi/v2 (protobuf) to validate.
  it('apply -f creates, leaves unchanged and configures', async () => {
    await k(['create', 'namespace', 'o3']);
    const f = join(c.dir, 'o3.yaml');
    const text = (a: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: o3\ndata:\n  a: "${a}"\n`;
    writeFileSync(f, text('1'));
    expect(await k(['apply', '-f', f])).toBe('configmap/cfg created\n');
    expect(await k(['apply', '-f', f])).toBe('configmap/cfg unchanged\n');
    writeFileSync(f, text('2'));
    expect(await k(['apply', '-f', f])).toBe('configmap/cfg configured\n');
    expect(await k(['apply', '--server-side', '-f', f])).toBe('configmap/cfg serverside-applied\n');
  });

  it('explain uses the server schema', async () => {
    const out = await k(['explain', 'deployment.spec.replicas']);
    expect(out).toMatch(/^KIND:\s+Deployment$/m);
    expect(out).toMatch(/^VERSION:\s+apps\/v1$|^VERSION:\s+v1$/m);
    expect(out).toMatch(/^FIELD:\s+replicas <integer>$/m);
    expect(out).toContain('Number of desired pods.');
  });
});
