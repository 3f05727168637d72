/**
 * Parses a request path into what it addresses, like upstream's RequestInfoFactory:
 * /api/v1/namespaces/ns/pods/name/status → {group:'', version:'v1', namespace:'ns',
 * resource:'pods', name:'name', subresource:'status'}.
 */
export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  /** "api" or "apis" for resource requests. */
  prefix?: 'api' | 'apis';
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  /** Path segments after the subresource (e.g. proxy paths), rarely used. */
  rest: string[];
}

const METHOD_VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const segs = pathname.split('/').filter((s) => s.length > 0);
  const base: RequestInfo = {
    resourceRequest: false,
    path: pathname,
    group: '',
    version: '',
    verb: (method || 'GET').toLowerCase(),
    rest: [],
  };
  const first = segs[0];
  if (first !== 'api' && first !== 'apis') return base;
  let i = 1;
  let group = '';
  if (first === 'apis') {
    if (segs.length < 3) return { ...base, prefix: first };
    group = segs[1] ?? '';
    i = 2;
  } else if (segs.length < 2) {
    return { ...base, prefix: first };
  }
  const version = segs[i] ?? '';
  i++;
  const info: RequestInfo = {
    resourceRequest: true,
    path: pathname,
    prefix: first,
    group,
    version,
    verb: METHOD_VERBS[method] ?? method.toLowerCase(),
    rest: [],
  };
  let parts = segs.slice(i);
  // Deprecated "watch" path prefix: /api/v1/watch/namespaces/ns/pods
  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts = parts.slice(1);
  }
  if (parts[0] === 'namespaces' && parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) {
    info.namespace = parts[1];
    parts = parts.slice(2);
  }
  info.resource = parts[0];
  info.name = parts[1];
  info.subresource = parts[2];
  info.rest = parts.slice(3);
  if (parts.length === 0) {
    info.resource = undefined;
  }
  if (info.verb === 'get' || info.verb === 'delete') {
    if (info.name === undefined) {
      if (info.verb === 'get') {
        info.verb = watchPath || isTrue(query.get('watch')) ? 'watch' : 'list';
      } else {
        info.verb = 'deletecollection';
      }
    } else if (watchPath && info.verb === 'get') {
      info.verb = 'watch';
    }
  }
  return info;
}

export function isTrue(v: string | null | undefined): boolean {
  return v === 'true' || v === '1';
}
