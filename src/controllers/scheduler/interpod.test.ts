import { describe, expect, it } from 'vitest';
import type { KObject } from '../../api/types.js';
import {
  affinityTermMatches,
  type InterPodSource,
  interPodFilter,
  interPodPreFilter,
  requiredAffinityTerms,
} from './interpod.js';
import { NodeInfo, type PodEntry } from './nodeinfo.js';
import { podInfo } from './podinfo.js';

function node(name: string, zone: string): NodeInfo {
  const n = new NodeInfo(name);
  n.setNode({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { zone } },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
  return n;
}

function pod(
  name: string,
  ns: string,
  labels: Record<string, string>,
  affinity?: Record<string, unknown>,
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: name, labels },
    spec: { containers: [{ name: 'c', image: 'x' }], affinity },
  };
}

function source(
  placed: Array<{ pod: KObject; node: NodeInfo }>,
  nsLabels: Record<string, Record<string, string>> = {},
): InterPodSource {
  const entries: PodEntry[] = placed.map(({ pod: p, node: n }) => ({
    key: `${p.metadata.namespace}/${p.metadata.name}`,
    uid: p.metadata.uid ?? '',
    nodeName: n.name,
    info: podInfo(p),
    namespace: p.metadata.namespace ?? '',
    assumed: false,
  }));
  const nodes = new Map(placed.map(({ node: n }) => [n.name, n]));
  return {
    podsWithAntiAffinity: () => entries.filter((e) => e.info.antiAffinityTerms.length > 0),
    podsIn: (ns) => entries.filter((e) => ns === undefined || e.namespace === ns),
    nodeInfo: (name) => nodes.get(name),
    namespaceLabels: (ns) => nsLabels[ns],
  };
}

const anti = (sel: Record<string, string>, topologyKey: string, extra: Record<string, unknown> = {}) => ({
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: sel }, topologyKey, ...extra },
    ],
  },
});

describe('inter-pod affinity', () => {
  it("defaults a term's namespaces to the pod's own; namespaceSelector {} matches all; nil selector matches nothing", () => {
    const [own] = requiredAffinityTerms(pod('p', 'a', {}, anti({ app: 'x' }, 'zone')), 'podAntiAffinity');
    expect(affinityTermMatches(own!, { app: 'x' }, 'a', () => undefined)).toBe(true);
    expect(affinityTermMatches(own!, { app: 'x' }, 'b', () => undefined)).toBe(false);
    const [all] = requiredAffinityTerms(
      pod('p', 'a', {}, anti({ app: 'x' }, 'zone', { namespaceSelector: {} })),
      'podAntiAffinity',
    );
    expect(affinityTermMatches(all!, { app: 'x' }, 'b', () => undefined)).toBe(true);
    const [byLabel] = requiredAffinityTerms(
      pod('p', 'a', {}, anti({ app: 'x' }, 'zone', { namespaceSelector: { matchLabels: { team: 't' } } })),
      'podAntiAffinity',
    );
    expect(affinityTermMatches(byLabel!, { app: 'x' }, 'b', () => ({ team: 't' }))).toBe(true);
    expect(affinityTermMatches(byLabel!, { app: 'x' }, 'b', () => ({ team: 'u' }))).toBe(false);
    const [nilSel] = requiredAffinityTerms(
      pod(
        'p',
        'a',
        {},
        { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone' }] } },
      ),
      'podAffinity',
    );
    expect(affinityTermMatches(nilSel!, { app: 'x' }, 'a', () => undefined)).toBe(false);
  });

  it('rejects every node in the topology domain of a matching pod (zone anti-affinity)', () => {
    const z1a = node('z1a', 'z1');
    const z1b = node('z1b', 'z1');
    const z2 = node('z2', 'z2');
    const src = source([
      { pod: pod('db-0', 'ns', { app: 'db' }), node: z1a },
      { pod: pod('other', 'ns', { app: 'web' }), node: z2 },
    ]);
    const incoming = pod('db-1', 'ns', { app: 'db' }, anti({ app: 'db' }, 'zone'));
    const info = podInfo(incoming);
    const st = interPodPreFilter(incoming, info.affinityTerms, info.antiAffinityTerms, src)!;
    expect(interPodFilter(st, z1a)?.reasons).toEqual(["node(s) didn't match pod anti-affinity rules"]);
    expect(interPodFilter(st, z1b)?.reasons).toEqual(["node(s) didn't match pod anti-affinity rules"]);
    expect(interPodFilter(st, z2)).toBeUndefined();
    // No rules anywhere: nothing to check.
    const plain = pod('x', 'ns', {});
    expect(
      interPodPreFilter(plain, [], [], source([{ pod: pod('y', 'ns', {}), node: z1a }])),
    ).toBeUndefined();
  });

  it("honours existing pods' anti-affinity against the incoming pod", () => {
    const z1 = node('z1', 'z1');
    const z2 = node('z2', 'z2');
    const src = source([
      { pod: pod('guard', 'ns', { app: 'guard' }, anti({ app: 'noisy' }, 'zone')), node: z1 },
    ]);
    const noisy = pod('noisy', 'ns', { app: 'noisy' });
    const st = interPodPreFilter(noisy, [], [], src)!;
    expect(interPodFilter(st, z1)).toEqual({
      code: 'Unschedulable',
      reasons: ["node(s) didn't satisfy existing pods anti-affinity rules"],
      plugin: 'InterPodAffinity',
    });
    expect(interPodFilter(st, z2)).toBeUndefined();
    expect(interPodPreFilter(pod('quiet', 'ns', { app: 'quiet' }), [], [], src)).toBeUndefined();
  });

  it('requires the topology key on the node for affinity', () => {
    const n = node('n', 'z1');
    const p = pod(
      'w',
      'ns',
      { app: 'w' },
      {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'w' } }, topologyKey: 'rack' },
          ],
        },
      },
    );
    const info = podInfo(p);
    const st = interPodPreFilter(p, info.affinityTerms, info.antiAffinityTerms, source([]))!;
    expect(interPodFilter(st, n)).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ["node(s) didn't match pod affinity rules"],
      plugin: 'InterPodAffinity',
    });
  });
});
