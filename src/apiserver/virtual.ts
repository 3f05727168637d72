/**
 * Endpoints that are not plain stored objects: access reviews, token requests,
 * pod binding and eviction, namespace finalize.
 */
import { badRequest, invalid, notFound } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import type { ResourceDef } from '../registry/types.js';
import type { UserInfo } from './auth/authn.js';
import type { Authorizer } from './auth/authz.js';
import type { ServiceAccountTokens } from './auth/sa-token.js';
import { assignPod } from './binding.js';
import type { RequestContext, Rest } from './rest.js';

export interface VirtualCall {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  body: unknown;
  user: UserInfo;
  ctx: RequestContext;
  method: string;
}

export interface VirtualHandler {
  /** Kind name used in decode error messages. */
  kind: string;
  methods: string[];
  handle(call: VirtualCall): Promise<{ code: number; body: unknown }>;
}

function successStatus(): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

function bodyObject(body: unknown, kind: string): KObject {
  if (!isObject(body)) throw badRequest(`the object provided is unrecognized (must be of type ${kind})`);
  const o = body as KObject;
  if (o.kind !== undefined && o.kind !== kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${kind}): ${String(o.kind)}`);
  }
  if (!isObject(o.metadata)) o.metadata = {};
  return o;
}

export class VirtualResources {
  private readonly handlers = new Map<string, VirtualHandler>();

  constructor(
    private readonly rest: Rest,
    private readonly authorizer: Authorizer,
    private readonly tokens: ServiceAccountTokens,
    private readonly authenticateToken: (token: string) => Promise<UserInfo | undefined>,
  ) {
    this.register('authorization.k8s.io', 'selfsubjectaccessreviews', undefined, {
      kind: 'SelfSubjectAccessReview',
      methods: ['POST'],
      handle: (c) => this.selfSubjectAccessReview(c),
    });
    this.register('authorization.k8s.io', 'subjectaccessreviews', undefined, {
      kind: 'SubjectAccessReview',
      methods: ['POST'],
      handle: (c) => this.subjectAccessReview(c),
    });
    this.register('authorization.k8s.io', 'selfsubjectrulesreviews', undefined, {
      kind: 'SelfSubjectRulesReview',
      methods: ['POST'],
      handle: (c) => this.selfSubjectRulesReview(c),
    });
    this.register('authentication.k8s.io', 'selfsubjectreviews', undefined, {
      kind: 'SelfSubjectReview',
      methods: ['POST'],
      handle: async (c) => ({
        code: 201,
        body: {
          kind: 'SelfSubjectReview',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { creationTimestamp: null },
          status: { userInfo: userInfoJson(c.user) },
        },
      }),
    });
    this.register('authentication.k8s.io', 'tokenreviews', undefined, {
      kind: 'TokenReview',
      methods: ['POST'],
      handle: (c) => this.tokenReview(c),
    });
    this.register('', 'serviceaccounts', 'token', {
      kind: 'TokenRequest',
      methods: ['POST'],
      handle: (c) => this.tokenRequest(c),
    });
    this.register('', 'pods', 'binding', {
      kind: 'Binding',
      methods: ['POST'],
      handle: (c) => this.binding(c),
    });
    this.register('', 'pods', 'eviction', {
      kind: 'Eviction',
      methods: ['POST'],
      handle: (c) => this.eviction(c),
    });
    this.register('', 'bindings', undefined, {
      kind: 'Binding',
      methods: ['POST'],
      handle: (c) => this.binding(c),
    });
    this.register('', 'namespaces', 'finalize', {
      kind: 'Namespace',
      methods: ['PUT'],
      handle: async (c) => ({
        code: 200,
        body: await this.rest.update(c.def, undefined, c.name!, c.body, c.ctx, 'finalize'),
      }),
    });
  }

  private register(group: string, plural: string, sub: string | undefined, h: VirtualHandler): void {
    this.handlers.set(`${group}/${plural}/${sub ?? ''}`, h);
  }

  lookup(def: ResourceDef, subresource: string | undefined): VirtualHandler | undefined {
    return this.handlers.get(`${def.group}/${def.plural}/${subresource ?? ''}`);
  }

  /** Kinds whose DELETE answers with the deleted object rather than a Status. */
  returnsDeletedObject(def: ResourceDef): boolean {
    return def.group === '' && (def.plural === 'pods' || def.plural === 'namespaces');
  }

  private selfSubjectAccessReview(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    return this.accessReview('SelfSubjectAccessReview', c.body, () => c.user);
  }

  private subjectAccessReview(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    return this.accessReview('SubjectAccessReview', c.body, (spec) => {
      if (typeof spec.user !== 'string' && !Array.isArray(spec.groups)) {
        throw invalid('SubjectAccessReview', 'authorization.k8s.io', '', [
          {
            type: 'FieldValueInvalid',
            field: 'spec.user',
            value: '',
            detail: 'at least one of user or group must be specified',
          },
        ]);
      }
      return {
        username: typeof spec.user === 'string' ? spec.user : '',
        groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
      };
    });
  }

  /** Answers a (Self)SubjectAccessReview by asking the authorizer about `subject(spec)`. */
  private async accessReview(
    kind: 'SelfSubjectAccessReview' | 'SubjectAccessReview',
    body: unknown,
    subject: (spec: Record<string, unknown>) => UserInfo,
  ): Promise<{ code: number; body: unknown }> {
    const review = bodyObject(body, kind);
    const spec = isObject(review.spec) ? review.spec : {};
    const ra = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
    const nra = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
    if (!ra && !nra) {
      throw invalid(kind, 'authorization.k8s.io', '', [
        {
          type: 'FieldValueRequired',
          field: 'spec.resourceAttributes',
          detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified',
        },
      ]);
    }
    const decision = await this.authorizer.authorize({
      user: subject(spec),
      verb: String((ra ?? nra)?.verb ?? ''),
      resourceRequest: ra !== undefined,
      apiGroup: ra ? String(ra.group ?? '') : undefined,
      apiVersion: ra ? String(ra.version ?? '') : undefined,
      resource: ra ? String(ra.resource ?? '') : undefined,
      subresource: ra?.subresource ? String(ra.subresource) : undefined,
      namespace: ra?.namespace ? String(ra.namespace) : undefined,
      name: ra?.name ? String(ra.name) : undefined,
      path: nra ? String(nra.path ?? '') : '',
    });
    return {
      code: 201,
      body: {
        kind,
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
      },
    };
  }

  private async selfSubjectRulesReview(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    const review = bodyObject(c.body, 'SelfSubjectRulesReview');
    const spec = isObject(review.spec) ? review.spec : {};
    const admin = c.user.groups.includes('system:masters');
    return {
      code: 201,
      body: {
        kind: 'SelfSubjectRulesReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: {
          resourceRules: admin ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] : [],
          nonResourceRules: admin ? [{ verbs: ['*'], nonResourceURLs: ['*'] }] : [],
          incomplete: false,
        },
      },
    };
  }

  private async tokenReview(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    const review = bodyObject(c.body, 'TokenReview');
    const spec = isObject(review.spec) ? review.spec : {};
    const token = typeof spec.token === 'string' ? spec.token : '';
    const user = token ? await this.authenticateToken(token) : undefined;
    return {
      code: 201,
      body: {
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: user
          ? {
              authenticated: true,
              user: userInfoJson(user),
              audiences: ['https://kubernetes.default.svc.cluster.local'],
            }
          : { user: {} },
      },
    };
  }

  private async tokenRequest(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    const req = bodyObject(c.body, 'TokenRequest');
    const spec = isObject(req.spec) ? req.spec : {};
    const sa = await this.rest.get(c.def, c.namespace, c.name!);
    let exp = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : 3600;
    if (exp < 600) {
      throw invalid('TokenRequest', 'authentication.k8s.io', c.name!, [
        {
          type: 'FieldValueInvalid',
          field: 'spec.expirationSeconds',
          value: exp,
          detail: 'may not specify a duration less than 10 minutes',
        },
      ]);
    }
    if (exp > 2 ** 32) exp = 2 ** 32;
    const audiences =
      Array.isArray(spec.audiences) && spec.audiences.length > 0
        ? spec.audiences.map(String)
        : ['https://kubernetes.default.svc.cluster.local'];
    const { token, expiration } = this.tokens.issue({
      namespace: c.namespace!,
      name: c.name!,
      uid: sa.metadata.uid ?? '',
      audiences,
      expirationSeconds: exp,
      now: this.rest.now(),
    });
    return {
      code: 201,
      body: {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name: c.name, namespace: c.namespace, creationTimestamp: null },
        spec: { ...spec, audiences, expirationSeconds: exp },
        status: { token, expirationTimestamp: expiration },
      },
    };
  }

  private async binding(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    const b = bodyObject(c.body, 'Binding');
    const podName = c.name ?? b.metadata.name;
    if (!podName) throw badRequest('Binding metadata.name is required');
    const target = isObject(b.target) ? b.target : {};
    const node = typeof target.name === 'string' ? target.name : '';
    if (!node) {
      throw invalid('Binding', '', podName, [
        { type: 'FieldValueRequired', field: 'target.name', detail: '' },
      ]);
    }
    await assignPod(this.rest, c.namespace, podName, node, c.ctx);
    return { code: 201, body: successStatus() };
  }

  private async eviction(c: VirtualCall): Promise<{ code: number; body: unknown }> {
    const ev = bodyObject(c.body, 'Eviction');
    if (ev.metadata.name && ev.metadata.name !== c.name) {
      throw badRequest(`name in URL does not match name in Eviction object`);
    }
    const opts = isObject(ev.deleteOptions) ? ev.deleteOptions : {};
    const podsDef = this.rest.resource('', 'v1', 'pods')!;
    try {
      await this.rest.delete(
        podsDef,
        c.namespace,
        c.name!,
        {
          gracePeriodSeconds:
            typeof opts.gracePeriodSeconds === 'number' ? opts.gracePeriodSeconds : undefined,
          propagationPolicy: typeof opts.propagationPolicy === 'string' ? opts.propagationPolicy : undefined,
        },
        c.ctx,
      );
    } catch (e) {
      if (e instanceof Error && 'reason' in e && (e as { reason: string }).reason === 'NotFound') {
        throw notFound({ group: '', resource: 'pods' }, c.name!);
      }
      throw e;
    }
    return { code: 201, body: successStatus() };
  }
}

function userInfoJson(u: UserInfo): Record<string, unknown> {
  return {
    username: u.username,
    ...(u.uid ? { uid: u.uid } : {}),
    groups: u.groups,
    ...(u.extra ? { extra: u.extra } : {}),
  };
}
