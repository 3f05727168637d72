import type { Status, StatusCause, StatusDetails } from './types.js';

/**
 * An API error carried as a Kubernetes `Status`. Everything that can fail in a
 * request throws this (or is translated into it at the HTTP boundary, where any
 * other exception becomes a 500). Branch on `reason`/`code`, never on message text.
 */
export class StatusError extends Error {
  readonly status: Status;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    };
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

/** Identifies a resource for messages: resource plural + group, e.g. {resource:'deployments', group:'apps'}. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** "deployments.apps" or "pods" — upstream's GroupResource.String(). */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    { name, group: gr.group, kind: gr.resource },
  );
}

export const OPTIMISTIC_LOCK_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

export function optimisticConflict(gr: GroupResource, name: string): StatusError {
  return conflict(gr, name, OPTIMISTIC_LOCK_MESSAGE);
}

/** A field error, as upstream's field.Error. `type` is the cause reason (FieldValueInvalid, ...). */
export interface FieldError {
  type:
    | 'FieldValueInvalid'
    | 'FieldValueRequired'
    | 'FieldValueNotSupported'
    | 'FieldValueForbidden'
    | 'FieldValueDuplicate'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid'
    | 'InternalError';
  field: string;
  /** The value shown in "Invalid value: <v>" messages. */
  value?: unknown;
  /** Upstream's Go rendering of the value (e.g. `map[string]string{"app":"x"}`), when JSON would differ. */
  valueText?: string;
  detail?: string;
  /** For FieldValueNotSupported: the allowed values. */
  supported?: string[];
}

/** Renders a bad value as upstream's field errors do (strings quoted, numbers bare). */
function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Message of one cause, without the field prefix (upstream's field.Error.ErrorBody()). */
export function fieldErrorBody(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueRequired':
      return `Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueForbidden':
      return `Forbidden${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${e.valueText ?? renderValue(e.value)}`;
    case 'FieldValueNotSupported': {
      const s = e.supported?.length
        ? `: supported values: ${e.supported.map((x) => `"${x}"`).join(', ')}`
        : '';
      return `Unsupported value: ${e.valueText ?? renderValue(e.value)}${s}`;
    }
    case 'FieldValueTooLong':
      return `Too long: ${e.detail ?? ''}`;
    case 'FieldValueTooMany':
      return `Too many: ${e.detail ?? ''}`;
    case 'FieldValueTypeInvalid':
      return `Invalid value: ${e.valueText ?? renderValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'InternalError':
      return `Internal error: ${e.detail ?? ''}`;
    default:
      return `Invalid value: ${e.valueText ?? renderValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
  }
}

/**
 * 422 Invalid, e.g. `StatefulSet.apps "web" is invalid: spec.replicas: Invalid value: -1: must be ...`.
 * `kind` is the Kind (not the resource), `group` its API group.
 */
export function invalid(kind: string, group: string, name: string, errs: FieldError[]): StatusError {
  const causes: StatusCause[] = errs.map((e) => ({
    reason: e.type,
    message: fieldErrorBody(e),
    field: e.field,
  }));
  const parts = errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const agg = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const qualified = group ? `${kind}.${group}` : kind;
  return new StatusError(422, 'Invalid', `${qualified} "${name}" is invalid: ${agg}`, {
    name,
    group,
    kind,
    causes,
  });
}

export function badRequest(message: string, details?: StatusDetails): StatusError {
  return new StatusError(400, 'BadRequest', message, details);
}

export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError(401, 'Unauthorized', message);
}

export function forbidden(message: string, details?: StatusDetails): StatusError {
  return new StatusError(403, 'Forbidden', message, details);
}

export function methodNotSupported(gr: GroupResource, verb: string): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    `${verb} is not supported on resources of kind "${qualifiedResource(gr)}"`,
    {
      group: gr.group,
      kind: gr.resource,
    },
  );
}

export function notAcceptable(message: string): StatusError {
  return new StatusError(406, 'NotAcceptable', message);
}

export const DEFAULT_ACCEPTED_MEDIA_TYPES: readonly string[] = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
];

/**
 * 415, upstream's negotiation errUnsupportedMediaType. `contentType` is the
 * rejected type (not part of upstream's message); `accepted` lists what the
 * endpoint takes, in upstream's wording.
 */
export function unsupportedMediaType(
  _contentType: string,
  accepted: readonly string[] = DEFAULT_ACCEPTED_MEDIA_TYPES,
): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Gone', message);
}

export function tooLarge(message = 'Request entity too large: limit is 3145728'): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', message);
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function timeout(message: string): StatusError {
  return new StatusError(504, 'Timeout', message);
}

/** The 404 for a path that names no known resource. */
export function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError;
}
export const isNotFound = (e: unknown): boolean => isStatusError(e) && e.reason === 'NotFound';
export const isAlreadyExists = (e: unknown): boolean => isStatusError(e) && e.reason === 'AlreadyExists';
export const isConflict = (e: unknown): boolean => isStatusError(e) && e.reason === 'Conflict';
/** A 409 from a stale resourceVersion (retryable by re-reading), as opposed to other conflicts. */
export const isOptimisticConflict = (e: unknown): boolean =>
  isConflict(e) && (e as StatusError).message.endsWith(OPTIMISTIC_LOCK_MESSAGE);
export const isInvalid = (e: unknown): boolean => isStatusError(e) && e.reason === 'Invalid';
