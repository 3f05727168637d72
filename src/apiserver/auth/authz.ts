/**
 * Authorization seam. The request pipeline builds RequestAttributes after
 * authentication and asks an Authorizer; a denial becomes a 403 whose message
 * has upstream's exact shape (forbiddenMessage).
 */
import { StatusError } from '../../api/errors.js';
import type { UserInfo } from './authn.js';

export interface RequestAttributes {
  user: UserInfo;
  /** Kubernetes verb for resource requests (get, list, watch, create, ...); lower-case HTTP method otherwise. */
  verb: string;
  resourceRequest: boolean;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** URL path without the query. */
  path: string;
}

export interface AuthorizationDecision {
  allowed: boolean;
  /** Why; appended to the 403 message after ": " when non-empty. */
  reason?: string;
}

/**
 * Decides one request. Never throws for a plain "no": resolves allowed=false.
 * A rejection means the authorizer itself failed; the caller answers 500.
 */
export interface Authorizer {
  authorize(attrs: RequestAttributes): Promise<AuthorizationDecision>;
}

export const alwaysAllow: Authorizer = {
  authorize: async () => ({ allowed: true }),
};

export const alwaysDeny: Authorizer = {
  authorize: async () => ({ allowed: false }),
};

/** Members of system:masters may do anything (as upstream's privileged-group authorizer); others ask `next`. */
export function withSuperuserGroup(next: Authorizer, group = 'system:masters'): Authorizer {
  return {
    authorize: async (attrs) =>
      attrs.user.groups.includes(group) ? { allowed: true } : next.authorize(attrs),
  };
}

/** Go's %q for the strings we print (JSON quoting matches it for printable text). */
function q(s: string | undefined): string {
  return JSON.stringify(s ?? '');
}

/** Upstream escapes these so an error never looks like HTML; quotes stay. */
function sanitize(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The part after "is forbidden: " (upstream's responsewriters forbiddenMessage). */
function forbiddenBody(attrs: RequestAttributes): string {
  const user = q(attrs.user.username);
  if (!attrs.resourceRequest) {
    return `User ${user} cannot ${attrs.verb} path ${q(attrs.path)}`;
  }
  const resource = attrs.subresource
    ? `${attrs.resource ?? ''}/${attrs.subresource}`
    : (attrs.resource ?? '');
  const group = q(attrs.apiGroup ?? '');
  if (attrs.namespace) {
    return `User ${user} cannot ${attrs.verb} resource ${q(resource)} in API group ${group} in the namespace ${q(attrs.namespace)}`;
  }
  return `User ${user} cannot ${attrs.verb} resource ${q(resource)} in API group ${group} at the cluster scope`;
}

/**
 * The full Status message of a 403, e.g.
 * `pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "ns"`,
 * `deployments.apps is forbidden: ... at the cluster scope`,
 * `forbidden: User "u" cannot get path "/foo"`.
 */
export function forbiddenMessage(attrs: RequestAttributes, reason?: string): string {
  let body = sanitize(forbiddenBody(attrs));
  if (reason) body = `${body}: ${reason}`;
  const qualified = qualifiedResource(attrs);
  if (!qualified) return `forbidden: ${body}`;
  if (!attrs.name) return `${qualified} is forbidden: ${body}`;
  return `${qualified} ${q(attrs.name)} is forbidden: ${body}`;
}

/** The 403 StatusError for a denied request, with upstream's details {name, group, kind: resource}. */
export function forbiddenError(attrs: RequestAttributes, reason?: string): StatusError {
  const details: { name?: string; group?: string; kind?: string } = {};
  if (attrs.resourceRequest) {
    if (attrs.name) details.name = attrs.name;
    if (attrs.apiGroup) details.group = attrs.apiGroup;
    if (attrs.resource) details.kind = attrs.resource;
  }
  return new StatusError(403, 'Forbidden', forbiddenMessage(attrs, reason), details);
}

function qualifiedResource(attrs: RequestAttributes): string {
  if (!attrs.resourceRequest) return '';
  const group = attrs.apiGroup ?? '';
  const resource = attrs.resource ?? '';
  if (!resource && !group) return '';
  return group ? `${resource}.${group}` : resource;
}
