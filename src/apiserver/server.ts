/**
 * The HTTP(S) front of the API server: authentication → request info →
 * authorization → handler. Handlers translate REST calls into `Rest` operations;
 * every error leaves as a Kubernetes Status with its HTTP code.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { stringify as toYaml } from 'yaml';
import {
  badRequest,
  internalError,
  isStatusError,
  methodNotSupported,
  notAcceptable,
  pathNotFound,
  StatusError,
  unauthorized,
} from '../api/errors.js';
import { isObject, type KList, type KObject, type WatchEvent } from '../api/types.js';
import type { ResourceDef } from '../registry/types.js';
import type { UserInfo } from './auth/authn.js';
import type { Authorizer, RequestAttributes } from './auth/authz.js';
import { forbiddenMessage } from './auth/authz.js';
import { decodeObject, decodePatch, patchKind, readBody } from './body.js';
import { aggregatedContentType, Discovery, wantsAggregated } from './discovery.js';
import { logContainer, type PodLogs, parseLogQuery } from './logs.js';
import { handleOpenApi } from './openapi.js';
import { PodStreams } from './pod-streams.js';
import { isTrue, parseRequestInfo, type RequestInfo } from './request-info.js';
import {
  apiVersionOf,
  type DeleteParams,
  type FieldValidation,
  parseRv,
  type RequestContext,
  type Rest,
} from './rest.js';
import { isConnectSubresource, PodStreamServer, type UpgradeContext } from './streams/index.js';
import { type IncludeObject, tableFor, wantsTable } from './tables.js';
import type { VirtualResources } from './virtual.js';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export const VERSION: VersionInfo = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.1-ordinal.0.1.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-21T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'ordinal',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export interface ApiServerDeps {
  rest: Rest;
  authenticate: (req: IncomingMessage) => Promise<UserInfo | undefined>;
  authorizer: Authorizer;
  isPublicPath: (path: string) => boolean;
  virtual: VirtualResources;
  /** Node log sources for `pods/log` (default: none, every log is empty). */
  logs?: PodLogs;
  /** Node stream targets for `pods/exec|attach|portforward` (default: none, every such request is refused). */
  streams?: PodStreams;
  /** host:port clients use, for /api serverAddressByClientCIDRs. */
  serverAddress: string;
  /** Called once per finished request, for metrics/logging. */
  onRequest?: (info: { method: string; path: string; code: number; ms: number }) => void;
}

const JSON_TYPE = 'application/json';

/**
 * Serves plain requests (`handle`, the https server's request listener) and
 * HTTP Upgrade requests (`handleUpgrade`, its 'upgrade' listener) through one
 * pipeline; tracks open watches and streaming sessions so shutdown can end them.
 */
export class ApiServer {
  readonly discovery: Discovery;
  private readonly openWatches = new Set<() => void>();
  private readonly deps: ApiServerDeps;
  private readonly podStreams: PodStreamServer;

  constructor(deps: ApiServerDeps) {
    this.deps = deps;
    this.discovery = new Discovery(deps.rest.resources);
    this.podStreams = new PodStreamServer(deps.streams ?? new PodStreams());
  }

  /** Ends every open watch and exec/attach/port-forward session (used on shutdown). */
  closeWatches(): void {
    for (const stop of [...this.openWatches]) stop();
    this.podStreams.closeAll();
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.observe(req, res);
    this.dispatch(req, res).catch((e: unknown) => this.fail(res, e));
  };

  /**
   * The 'upgrade' listener. The request goes through the same pipeline as
   * any other (authentication, authorization, routing), with an HTTP response
   * written on the socket for everything that is not upgraded: refusals of
   * exec/attach/portforward, and any other path, which is served as if it
   * had not asked for an upgrade.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    this.observe(req, res);
    let upgraded = false;
    const upgrade: UpgradeContext = {
      req,
      socket,
      head,
      takeOver: () => {
        upgraded = true;
        res.detachSocket(socket as Socket);
        this.deps.onRequest?.({ method: req.method ?? 'GET', path: req.url ?? '', code: 101, ms: 0 });
      },
    };
    this.dispatch(req, res, upgrade).catch((e: unknown) => {
      if (!upgraded) this.fail(res, e);
      else {
        console.error('streaming session failed:', e);
        socket.destroy();
      }
    });
  };

  /** Reports each finished request to deps.onRequest. */
  private observe(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    res.on('finish', () => {
      this.deps.onRequest?.({
        method: req.method ?? 'GET',
        path: req.url ?? '',
        code: res.statusCode,
        ms: performance.now() - started,
      });
    });
  }

  private fail(res: ServerResponse, e: unknown): void {
    let err: StatusError;
    if (isStatusError(e)) err = e;
    else {
      const msg = e instanceof Error ? e.message : String(e);
      console.error('internal error:', e);
      err = internalError(msg);
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    sendJson(res, err.code, err.status);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, upgrade?: UpgradeContext): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let user: UserInfo | undefined;
    if (!this.deps.isPublicPath(path)) {
      user = await this.deps.authenticate(req);
      if (!user) throw unauthorized();
    }
    const info = parseRequestInfo(method, path, url.searchParams);
    if (user) {
      const attrs: RequestAttributes = {
        user,
        verb: info.resourceRequest ? authorizationVerb(info) : method.toLowerCase(),
        resourceRequest: info.resourceRequest && info.resource !== undefined,
        apiGroup: info.group,
        apiVersion: info.version,
        resource: info.resource,
        subresource: info.subresource,
        namespace: info.namespace,
        name: info.name,
        path,
      };
      const decision = await this.deps.authorizer.authorize(attrs);
      if (!decision.allowed) {
        const name = info.name;
        throw new StatusError(403, 'Forbidden', forbiddenMessage(attrs, decision.reason), {
          ...(name ? { name } : {}),
          group: info.group,
          kind: info.resource ?? '',
        });
      }
    }
    if (!info.resourceRequest || info.resource === undefined) {
      await this.nonResource(req, res, url, info, user);
      return;
    }
    await this.resource(req, res, url, info, user!, upgrade);
  }

  // ---- non-resource paths -------------------------------------------------------

  private async nonResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    info: RequestInfo,
    _user: UserInfo | undefined,
  ): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const accept = req.headers.accept;
    if (path === '/version') return sendJson(res, 200, VERSION);
    if (
      path === '/healthz' ||
      path === '/livez' ||
      path === '/readyz' ||
      /^\/(healthz|livez|readyz)\//.test(path)
    ) {
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(
        url.searchParams.has('verbose') ? `[+]ping ok\n[+]etcd ok\n${path.slice(1)} check passed\n` : 'ok',
      );
      return;
    }
    if (path.startsWith('/openapi/')) {
      const r = handleOpenApi(path, url.searchParams, accept);
      if (!r) throw pathNotFound();
      res.writeHead(r.status, { 'Content-Type': r.contentType, ...(r.headers ?? {}) });
      res.end(r.body);
      return;
    }
    const d = this.discovery;
    if (path === '/api') {
      const agg = wantsAggregated(accept);
      if (agg) return sendRaw(res, 200, aggregatedContentType(agg), d.aggregated(true, agg));
      return sendRaw(res, 200, JSON_TYPE, d.apiVersions(this.deps.serverAddress));
    }
    if (path === '/apis') {
      const agg = wantsAggregated(accept);
      if (agg) return sendRaw(res, 200, aggregatedContentType(agg), d.aggregated(false, agg));
      return sendRaw(res, 200, JSON_TYPE, d.apiGroupList());
    }
    if (info.prefix === 'apis' && info.group && !info.resourceRequest) {
      const g = d.group(info.group);
      if (g) return sendRaw(res, 200, JSON_TYPE, g);
    }
    if (info.resourceRequest && info.resource === undefined) {
      const rl = d.resourceList(info.group, info.version);
      if (rl) return sendRaw(res, 200, JSON_TYPE, rl);
    }
    if (info.prefix === 'api' && !info.resourceRequest) {
      const segs = path.split('/').filter(Boolean);
      if (segs.length === 2) {
        const rl = d.resourceList('', segs[1]!);
        if (rl) return sendRaw(res, 200, JSON_TYPE, rl);
      }
    }
    if (path === '/') {
      return sendJson(res, 200, {
        paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v3', '/readyz', '/version'],
      });
    }
    throw pathNotFound();
  }

  // ---- resource paths ---------------------------------------------------------------

  private async resource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    info: RequestInfo,
    user: UserInfo,
    upgrade?: UpgradeContext,
  ): Promise<void> {
    const rest = this.deps.rest;
    const q = url.searchParams;
    const def = rest.resource(info.group, info.version, info.resource!);
    if (!def) throw pathNotFound();
    if (def.namespaced && info.namespace === undefined && info.name !== undefined) throw pathNotFound();
    if (!def.namespaced && info.namespace !== undefined) throw pathNotFound();
    checkAccept(req.headers.accept);
    const ns = def.namespaced ? info.namespace : undefined;
    const method = req.method ?? 'GET';
    const ctx: RequestContext = {
      user: user.username,
      fieldManager: q.get('fieldManager') ?? undefined,
      dryRun: parseDryRun(q),
      fieldValidation: parseFieldValidation(q),
    };
    if (ctx.fieldManager !== undefined && ctx.fieldManager.length > 128) {
      throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
    }
    if (!ctx.fieldManager) ctx.fieldManager = managerFromUserAgent(req.headers['user-agent']);
    const sub = info.subresource;

    if (def.group === '' && def.plural === 'pods' && isConnectSubresource(sub) && info.name !== undefined) {
      if (info.rest.length > 0) throw pathNotFound();
      if (method !== 'GET' && method !== 'POST')
        throw methodNotSupported({ group: '', resource: `pods/${sub}` }, info.verb);
      const pod = await rest.get(def, ns, info.name);
      return this.podStreams.connect(sub, pod, q, upgrade);
    }
    if (def.group === '' && def.plural === 'pods' && sub === 'log' && info.name !== undefined) {
      if (method !== 'GET') throw methodNotSupported({ group: '', resource: 'pods/log' }, info.verb);
      return this.podLog(req, res, def, ns, info.name, q);
    }
    // Virtual (non-stored) resources and special subresources.
    const virt = this.deps.virtual.lookup(def, sub);
    if (virt) {
      if (!virt.methods.includes(method))
        throw methodNotSupported({ group: def.group, resource: def.plural }, info.verb);
      const body =
        method === 'POST' || method === 'PUT'
          ? decodeObject(await readBody(req), req.headers['content-type'], virt.kind)
          : undefined;
      const out = await virt.handle({ def, namespace: ns, name: info.name, body, user, ctx, method });
      return this.reply(res, out.code, out.body, ctx);
    }
    if (sub !== undefined && sub !== 'status' && sub !== 'scale') throw pathNotFound();
    if (sub !== undefined && !(def.subresources ?? []).some((s) => s.name === sub)) throw pathNotFound();
    if (info.rest.length > 0) throw pathNotFound();

    switch (info.verb) {
      case 'get': {
        const obj =
          sub === 'scale' ? await rest.getScale(def, ns, info.name!) : await rest.get(def, ns, info.name!);
        return this.replyObject(req, res, def, obj, q, ctx);
      }
      case 'list': {
        const list = await rest.list(def, ns, {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          limit: parseIntParam(q, 'limit'),
          continue: q.get('continue') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
        });
        return this.replyList(req, res, def, list, q);
      }
      case 'watch':
        return this.watch(req, res, def, ns, q);
      case 'create': {
        if (info.name !== undefined)
          throw methodNotSupported({ group: def.group, resource: def.plural }, 'create');
        const body = decodeObject(await readBody(req), req.headers['content-type'], def.kind);
        const obj = await rest.create(def, ns, body, ctx);
        return this.reply(res, 201, obj, ctx);
      }
      case 'update': {
        const body = decodeObject(
          await readBody(req),
          req.headers['content-type'],
          sub === 'scale' ? 'Scale' : def.kind,
        );
        const obj = await rest.update(def, ns, info.name!, body, ctx, sub);
        return this.reply(res, 200, obj, ctx);
      }
      case 'patch': {
        const kind = patchKind(req.headers['content-type']);
        const patch = decodePatch(await readBody(req), kind);
        const force = q.get('force');
        if (force !== null && kind !== 'apply')
          throw badRequest('force: Forbidden: may not be specified for non-apply patch');
        if (kind === 'apply' && !q.get('fieldManager')) {
          throw invalidParam('fieldManager: Required value: is required for apply patch');
        }
        const existed = kind === 'apply' ? await existsQuietly(rest, def, ns, info.name!) : true;
        const obj = await rest.patch(def, ns, info.name!, kind, patch, { ...ctx, force: isTrue(force) }, sub);
        return this.reply(res, existed ? 200 : 201, obj, ctx);
      }
      case 'delete': {
        const opts = await this.deleteOptions(req, q);
        const r = await rest.delete(def, ns, info.name!, opts, ctx);
        if (r.deleted && !this.deps.virtual.returnsDeletedObject(def)) {
          return this.reply(
            res,
            200,
            {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: { name: info.name, group: def.group, kind: def.plural, uid: r.object.metadata.uid },
            },
            ctx,
          );
        }
        // Upstream answers 202 Accepted while finalizers or a grace period keep the object.
        return this.reply(res, r.deleted ? 200 : 202, r.object, ctx);
      }
      case 'deletecollection': {
        const opts = await this.deleteOptions(req, q);
        const list = await rest.deleteCollection(
          def,
          ns,
          {
            ...opts,
            labelSelector: q.get('labelSelector') ?? undefined,
            fieldSelector: q.get('fieldSelector') ?? undefined,
          },
          ctx,
        );
        return this.reply(res, 200, list, ctx);
      }
      default:
        throw methodNotSupported({ group: def.group, resource: def.plural }, info.verb);
    }
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteParams> {
    const buf = await readBody(req);
    let body: Record<string, unknown> = {};
    if (buf.length > 0) {
      const decoded = decodeObject(buf, req.headers['content-type'], 'DeleteOptions');
      if (!isObject(decoded)) throw badRequest('the body of the request must be a DeleteOptions object');
      body = decoded;
    }
    const grace = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
    const policy = q.get('propagationPolicy') ?? body.propagationPolicy;
    const orphan = q.get('orphanDependents') ?? body.orphanDependents;
    const opts: DeleteParams = {};
    if (grace !== undefined && grace !== null) {
      const n = Number(grace);
      if (!Number.isInteger(n))
        throw badRequest(`gracePeriodSeconds: Invalid value: "${String(grace)}": must be an integer`);
      opts.gracePeriodSeconds = n;
    }
    if (policy !== undefined && policy !== null) opts.propagationPolicy = String(policy);
    if (orphan !== undefined && orphan !== null) opts.orphanDependents = orphan === true || orphan === 'true';
    if (isObject(body.preconditions)) {
      const p = body.preconditions;
      opts.preconditions = {
        uid: typeof p.uid === 'string' ? p.uid : undefined,
        resourceVersion: typeof p.resourceVersion === 'string' ? p.resourceVersion : undefined,
      };
    }
    return opts;
  }

  // ---- responses -----------------------------------------------------------------

  /** Streams a container's log as text/plain (upstream pod log REST + kubelet). */
  private async podLog(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    q: URLSearchParams,
  ): Promise<void> {
    const pod = await this.deps.rest.get(def, ns, name);
    const opts = parseLogQuery(q);
    const container = logContainer(pod, opts.container);
    const nodeName = String((pod.spec as { nodeName?: string }).nodeName ?? '');
    const source = this.deps.logs?.sourceFor(nodeName);
    const abort = new AbortController();
    req.once('close', () => abort.abort());
    const chunks = source?.stream(pod, { ...opts, container }, abort.signal);
    const iter = chunks?.[Symbol.asyncIterator]();
    // Pull the first chunk before answering, so refusals still become a Status.
    let first = iter ? await iter.next() : { done: true as const, value: undefined };
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    let left = opts.limitBytes ?? Number.POSITIVE_INFINITY;
    try {
      while (!first.done && left > 0 && !abort.signal.aborted) {
        let b = typeof first.value === 'string' ? Buffer.from(first.value) : first.value;
        if (b.length > left) b = b.subarray(0, left);
        left -= b.length;
        if (!res.write(b)) {
          await new Promise((r) => {
            res.once('drain', r);
            res.once('close', r);
          });
        }
        first = await iter!.next();
      }
    } catch {
      // The stream broke after the headers went out: end the response.
    } finally {
      abort.abort();
      await iter?.return?.();
      res.end();
    }
  }

  private reply(res: ServerResponse, code: number, body: unknown, ctx: RequestContext): void {
    if (ctx.warnings?.length) {
      res.setHeader(
        'Warning',
        // Header values travel as bytes: send UTF-8 (as Go's net/http does) rather than
        // letting Node reject non-Latin-1 text (e.g. an unknown field's name) with a 500.
        ctx.warnings.map((w) =>
          Buffer.from(`299 - ${JSON.stringify(w.replace(/\u007f/g, ''))}`, 'utf8').toString('latin1'),
        ),
      );
    }
    sendJson(res, code, body);
  }

  private replyObject(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    obj: KObject,
    q: URLSearchParams,
    ctx: RequestContext,
  ): void {
    const tv = wantsTable(req.headers.accept);
    if (tv && obj.kind === def.kind) {
      sendJson(
        res,
        200,
        tableFor(def, [obj], {
          version: tv,
          include: includeObject(q),
          resourceVersion: obj.metadata.resourceVersion,
          now: this.deps.rest.now(),
        }),
      );
      return;
    }
    if (prefersYaml(req.headers.accept)) {
      sendRaw(res, 200, 'application/yaml', toYaml(obj));
      return;
    }
    this.reply(res, 200, obj, ctx);
  }

  private replyList(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    list: KList,
    q: URLSearchParams,
  ): void {
    const tv = wantsTable(req.headers.accept);
    if (tv) {
      sendJson(
        res,
        200,
        tableFor(def, list.items, {
          version: tv,
          include: includeObject(q),
          resourceVersion: list.metadata.resourceVersion,
          continue: list.metadata.continue,
          remainingItemCount: list.metadata.remainingItemCount,
          now: this.deps.rest.now(),
        }),
      );
      return;
    }
    if (prefersYaml(req.headers.accept)) {
      sendRaw(res, 200, 'application/yaml', toYaml(list));
      return;
    }
    sendJson(res, 200, list);
  }

  // ---- watch -----------------------------------------------------------------------

  private async watch(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    ns: string | undefined,
    q: URLSearchParams,
  ): Promise<void> {
    const rest = this.deps.rest;
    const tv = wantsTable(req.headers.accept);
    const include = includeObject(q);
    const timeoutParam = parseIntParam(q, 'timeoutSeconds');
    // Upstream: a random duration in [minRequestTimeout, 2*minRequestTimeout) (30-60 min).
    const timeoutMs = (timeoutParam ?? 1800 * (1 + Math.random())) * 1000;
    const bookmarks = isTrue(q.get('allowWatchBookmarks'));
    const rvParam = q.get('resourceVersion') ?? undefined;
    if (rvParam && rvParam !== '0') parseRv(rvParam);
    const sendInitial = q.get('sendInitialEvents');
    if (sendInitial !== null && q.get('resourceVersionMatch') !== 'NotOlderThan') {
      throw invalidParam(
        'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled and resourceVersionMatch is set to NotOlderThan',
      );
    }
    res.writeHead(200, {
      'Content-Type': JSON_TYPE,
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    let first = true;
    let lastRv = rvParam && rvParam !== '0' ? rvParam : '0';
    let closed = false;
    const write = (e: WatchEvent): void => {
      if (closed) return;
      let object: unknown = e.object;
      if (e.object.metadata?.resourceVersion) lastRv = e.object.metadata.resourceVersion;
      if (tv && e.type !== 'ERROR' && e.type !== 'BOOKMARK') {
        object = tableFor(def, [e.object], {
          version: tv,
          include,
          resourceVersion: e.object.metadata.resourceVersion,
          noHeaders: !first,
          now: rest.now(),
        });
        first = false;
      }
      res.write(`${JSON.stringify({ type: e.type, object })}\n`);
    };
    let watcher: { stop(): void } | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      if (closed) return;
      closed = true;
      watcher?.stop();
      for (const t of timers) clearTimeout(t);
      this.openWatches.delete(finish);
      res.end();
    };
    this.openWatches.add(finish);
    res.on('close', finish);
    timers.push(setTimeout(finish, timeoutMs));
    if (bookmarks) {
      const tick = setInterval(() => {
        write({
          type: 'BOOKMARK',
          object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: lastRv } },
        });
      }, 60_000);
      timers.push(tick);
    }
    try {
      watcher = await rest.watch(
        def,
        ns,
        {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          resourceVersion: rvParam,
          allowWatchBookmarks: bookmarks,
          sendInitialEvents: sendInitial === null ? undefined : isTrue(sendInitial),
        },
        write,
        () => finish(),
      );
      if (closed) watcher.stop();
    } catch (e) {
      const err = isStatusError(e) ? e : internalError(e instanceof Error ? e.message : String(e));
      res.write(`${JSON.stringify({ type: 'ERROR', object: err.status })}\n`);
      finish();
    }
  }
}

async function existsQuietly(
  rest: Rest,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
): Promise<boolean> {
  try {
    await rest.get(def, ns, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The verb a resource request is authorized with: its own, except that
 * exec/attach/portforward need `create` whether they arrive as a WebSocket
 * GET or a SPDY POST (upstream's AuthorizePodWebsocketUpgradeCreatePermission).
 */
function authorizationVerb(info: RequestInfo): string {
  if (info.group === '' && info.resource === 'pods' && isConnectSubresource(info.subresource))
    return 'create';
  return info.verb;
}

function invalidParam(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  if (v === 'None' || v === 'Object') return v;
  return 'Metadata';
}

function parseIntParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name}: Invalid value: "${v}": must be an integer`);
  return Number(v);
}

function parseDryRun(q: URLSearchParams): boolean {
  const vals = q.getAll('dryRun');
  for (const v of vals) {
    if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  }
  return vals.length > 0;
}

function parseFieldValidation(q: URLSearchParams): FieldValidation | undefined {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return undefined;
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(
    `fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`,
  );
}

function managerFromUserAgent(ua: string | undefined): string {
  if (!ua) return 'unknown';
  const prefix = ua.split('/')[0]!.trim();
  return prefix.slice(0, 128) || 'unknown';
}

function prefersYaml(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0]!.split(';')[0]!.trim();
  return first === 'application/yaml';
}

const ACCEPTABLE = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  '*/*',
  'application/*',
];

function checkAccept(accept: string | undefined): void {
  if (!accept) return;
  const types = accept.split(',').map((p) => p.split(';')[0]!.trim().toLowerCase());
  if (types.some((t) => ACCEPTABLE.includes(t) || t === '')) return;
  throw notAcceptable(
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  sendRaw(res, code, JSON_TYPE, JSON.stringify(body));
}

export function sendRaw(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-cache, private',
  });
  res.end(body);
}
