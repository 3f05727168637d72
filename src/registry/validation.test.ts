import { describe, expect, it } from 'vitest';
import { fieldErrorBody, invalid } from '../api/errors.js';
import {
  defaultPodSpec,
  defaultPodTemplateSpec,
  imageTag,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  parseQuantity,
  validateLabelSelector,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validatePodSpec,
  validatePodTemplateSpec,
} from './validation.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function messages(errs: Parameters<typeof invalid>[3]): string[] {
  return errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
}

describe('name formats', () => {
  it('DNS-1123 subdomain', () => {
    expect(isDNS1123Subdomain('example.com')).toEqual([]);
    expect(isDNS1123Subdomain('Foo')).toEqual([SUBDOMAIN_MSG]);
    expect(isDNS1123Subdomain('a'.repeat(254))).toEqual(['must be no more than 253 characters']);
  });
  it('DNS-1123 label', () => {
    expect(isDNS1123Label('my-name')).toEqual([]);
    expect(isDNS1123Label('-x')).toEqual([LABEL_MSG]);
    expect(isDNS1123Label('a.b')).toEqual(['must not contain dots']);
    expect(isDNS1123Label('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
  });
  it('qualified names and label values', () => {
    expect(isQualifiedName('app.kubernetes.io/name')).toEqual([]);
    expect(isQualifiedName('/name')).toEqual(['prefix part must be non-empty']);
    expect(isQualifiedName('a/b/c')[0]).toMatch(/^a qualified name must consist of/);
    expect(isQualifiedName('bad key')).toEqual([
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]);
    expect(isValidLabelValue('')).toEqual([]);
    expect(isValidLabelValue('-bad')).toEqual([
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]);
  });
});

describe('validateObjectMeta', () => {
  it('requires a name', () => {
    expect(messages(validateObjectMeta({ namespace: 'default' }, { namespaced: true }))).toEqual([
      'metadata.name: Required value: name or generateName is required',
    ]);
  });
  it('renders the upstream Invalid message', () => {
    const err = invalid(
      'ConfigMap',
      '',
      'Bad_Name',
      validateObjectMeta({ name: 'Bad_Name', namespace: 'x' }, { namespaced: true }),
    );
    expect(err.message).toBe(
      `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN_MSG}`,
    );
  });
  it('checks namespace by scope', () => {
    expect(messages(validateObjectMeta({ name: 'a' }, { namespaced: true }))).toEqual([
      'metadata.namespace: Required value',
    ]);
    expect(messages(validateObjectMeta({ name: 'a', namespace: 'x' }, { namespaced: false }))).toEqual([
      'metadata.namespace: Forbidden: not allowed on this type',
    ]);
  });
  it('accepts generateName prefixes ending in a dash', () => {
    expect(validateObjectMeta({ generateName: 'web-', namespace: 'x' }, { namespaced: true })).toEqual([]);
  });
  it('validates labels and annotation size', () => {
    const errs = validateObjectMeta(
      {
        name: 'a',
        namespace: 'x',
        labels: { ok: 'bad value' },
        annotations: { big: 'x'.repeat(300 * 1024) },
      },
      { namespaced: true },
    );
    expect(messages(errs)).toEqual([
      expect.stringMatching(/^metadata\.labels: Invalid value: "bad value": a valid label must be/),
      'metadata.annotations: Too long: may not be more than 262144 bytes',
    ]);
  });
  it('makes identity fields immutable', () => {
    const errs = validateObjectMetaUpdate(
      { name: 'b', namespace: 'x', uid: '1' },
      { name: 'a', namespace: 'x', uid: '1' },
    );
    expect(messages(errs)).toEqual(['metadata.name: Invalid value: "b": field is immutable']);
  });
});

describe('validateLabelSelector', () => {
  it('checks operators and values', () => {
    const errs = validateLabelSelector(
      {
        matchExpressions: [
          { key: 'a', operator: 'In' },
          { key: 'b', operator: 'Exists', values: ['x'] },
        ],
      },
      'spec.selector',
    );
    expect(messages(errs)).toEqual([
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ]);
  });
});

describe('pod spec validation', () => {
  const spec = () => {
    const s: Record<string, unknown> = { containers: [{ name: 'web', image: 'nginx' }] };
    defaultPodSpec(s);
    return s;
  };

  it('accepts a minimal defaulted spec', () => {
    expect(validatePodSpec(spec(), 'spec')).toEqual([]);
  });

  it('requires containers and images', () => {
    expect(messages(validatePodSpec({ restartPolicy: 'Always' }, 'spec'))).toEqual([
      'spec.containers: Required value',
    ]);
    expect(
      messages(
        validatePodTemplateSpec(
          {
            metadata: { labels: { app: 'x' } },
            spec: { restartPolicy: 'Always', containers: [{ name: 'c' }] },
          },
          'spec.template',
        ),
      ),
    ).toEqual(['spec.template.spec.containers[0].image: Required value']);
  });

  it('checks names, duplicates, ports, restart policy and mounts', () => {
    const s = spec();
    s.containers = [
      { name: 'Web', image: 'nginx', ports: [{ containerPort: 70000, protocol: 'TCP' }] },
      { name: 'sidecar', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      { name: 'sidecar', image: 'busybox' },
    ];
    s.restartPolicy = 'Sometimes';
    expect(messages(validatePodSpec(s, 'spec'))).toEqual([
      `spec.containers[0].name: Invalid value: "Web": ${LABEL_MSG}`,
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[1].volumeMounts[0].name: Invalid value: "data": not found',
      'spec.containers[2].name: Duplicate value: "sidecar"',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it('lets callers allow extra volume names (volumeClaimTemplates) and restrict restart policies', () => {
    const s = spec();
    s.containers = [
      { name: 'db', image: 'postgres', volumeMounts: [{ name: 'data', mountPath: '/var/lib/pg' }] },
    ];
    expect(validatePodSpec(s, 'spec', { extraVolumeNames: ['data'] })).toEqual([]);
    s.restartPolicy = 'Never';
    expect(
      messages(validatePodSpec(s, 'spec', { extraVolumeNames: ['data'], restartPolicies: ['Always'] })),
    ).toEqual(['spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']);
  });

  it('validates resource quantities', () => {
    const s = spec();
    s.containers = [
      { name: 'c', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1', memory: 'lots' } } },
    ];
    expect(messages(validatePodSpec(s, 'spec'))).toEqual([
      'spec.containers[0].resources.limits[memory]: Invalid value: "lots": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
      'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ]);
  });
});

describe('pod spec defaults', () => {
  it('applies upstream defaults', () => {
    const s: Record<string, unknown> = {
      containers: [
        { name: 'a', image: 'nginx', ports: [{ containerPort: 80 }] },
        { name: 'b', image: 'nginx:1.25', readinessProbe: { httpGet: { port: 80 } } },
      ],
      volumes: [{ name: 'cfg', configMap: { name: 'c' } }, { name: 'scratch' }],
    };
    defaultPodSpec(s);
    expect(s).toEqual({
      containers: [
        {
          name: 'a',
          image: 'nginx',
          imagePullPolicy: 'Always',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: {},
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
        {
          name: 'b',
          image: 'nginx:1.25',
          imagePullPolicy: 'IfNotPresent',
          readinessProbe: {
            httpGet: { port: 80, path: '/', scheme: 'HTTP' },
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          resources: {},
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      volumes: [
        { name: 'cfg', configMap: { name: 'c', defaultMode: 420 } },
        { name: 'scratch', emptyDir: {} },
      ],
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
    });
  });

  it('defaults templates too', () => {
    const tpl = { metadata: {}, spec: { containers: [{ name: 'a', image: 'x@sha256:abc' }] } };
    defaultPodTemplateSpec(tpl);
    expect(tpl.spec).toMatchObject({
      restartPolicy: 'Always',
      containers: [{ imagePullPolicy: 'IfNotPresent' }],
    });
  });

  it('derives image tags', () => {
    expect(imageTag('nginx')).toBe('latest');
    expect(imageTag('nginx:latest')).toBe('latest');
    expect(imageTag('localhost:5000/nginx')).toBe('latest');
    expect(imageTag('localhost:5000/nginx:1.2')).toBe('1.2');
    expect(imageTag('nginx@sha256:abc')).toBe('');
  });
});

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['1Gi', 2 ** 30],
    ['1e3', 1000],
    ['2', 2],
    ['1.5k', 1500],
    ['abc', null],
    ['1 Gi', null],
  ])('%s', (q, want) => {
    expect(parseQuantity(q)).toBe(want);
  });
});
