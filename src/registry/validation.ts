/**
 * Validation and defaulting helpers shared by the registry kinds, with upstream's
 * error strings (k8s.io/apimachinery/pkg/util/validation and
 * pkg/apis/core/validation). Every function is pure: it reads plain JSON and
 * returns field errors (empty = valid); the default* functions mutate in place.
 */
import type { FieldError } from '../api/errors.js';
import type { LabelSelector, ObjectMeta } from '../api/types.js';

// ---------------------------------------------------------------------------
// String formats
// ---------------------------------------------------------------------------

/** Upstream's RegexError: message plus examples plus the regex. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123LabelErrMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);
const dns1035LabelErrMsg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);
const qualifiedNameErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueRe = new RegExp(`^${labelValueFmt}$`);
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

/** RFC 1123 label (namespace names, container names, volume names...). */
export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!dns1123LabelRe.test(v)) {
    // A valid subdomain within the length limit can only fail by containing dots.
    if (dns1123SubdomainRe.test(v)) errs.push('must not contain dots');
    else errs.push(regexError(dns1123LabelErrMsg, dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

/** RFC 1123 subdomain (most object names). */
export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!dns1123SubdomainRe.test(v))
    errs.push(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

/** RFC 1035 label (Service names, port names of services). */
export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!dns1035LabelRe.test(v))
    errs.push(regexError(dns1035LabelErrMsg, dns1035LabelFmt, 'my-name', 'abc-123'));
  return errs;
}

/** Label keys, annotation keys, finalizers: optional DNS-subdomain prefix + "/" + name. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    errs.push(
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    );
    return errs;
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!qualifiedNameRe.test(name)) {
    errs.push(
      `name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`,
    );
  }
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(v))
    errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** IANA_SVC_NAME: container and service port names. */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.length > 0 && (v.startsWith('-') || v.endsWith('-')))
    errs.push('must not begin or end with a hyphen');
  return errs;
}

export function isValidPortNum(n: number): string[] {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** Name validators as upstream's ValidateNameFunc: `prefix` = validating a generateName. */
export type NameFn = (name: string) => string[];

/** Masks a trailing "-" of a generateName prefix before validating it (upstream's maskTrailingDash). */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

// ---------------------------------------------------------------------------
// Field error constructors
// ---------------------------------------------------------------------------

export function required(field: string, detail?: string): FieldError {
  return detail ? { type: 'FieldValueRequired', field, detail } : { type: 'FieldValueRequired', field };
}

export function invalidField(field: string, value: unknown, detail?: string): FieldError {
  return detail
    ? { type: 'FieldValueInvalid', field, value, detail }
    : { type: 'FieldValueInvalid', field, value };
}

export function forbiddenField(field: string, detail?: string): FieldError {
  return detail ? { type: 'FieldValueForbidden', field, detail } : { type: 'FieldValueForbidden', field };
}

export function duplicate(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, value };
}

export function notSupported(field: string, value: unknown, supported: string[]): FieldError {
  return { type: 'FieldValueNotSupported', field, value, supported };
}

export function tooLong(field: string, value: unknown, max: number): FieldError {
  return { type: 'FieldValueTooLong', field, value, detail: `may not be more than ${max} bytes` };
}

/**
 * upstream's field.NotFound ("Not found: \"x\""). FieldError has no NotFound type
 * yet, so this is reported as FieldValueInvalid with the upstream wording as detail.
 */
export function notFoundField(field: string, value: unknown): FieldError {
  return { type: 'FieldValueInvalid', field, value, detail: 'not found' };
}

/** field.Invalid for each message of a string validator. */
export function eachInvalid(field: string, value: unknown, msgs: string[]): FieldError[] {
  return msgs.map((m) => invalidField(field, value, m));
}

/** Immutable-field check (upstream's ValidateImmutableField), deep equality on JSON. */
export function validateImmutableField(newVal: unknown, oldVal: unknown, field: string): FieldError[] {
  return jsonEqual(newVal, oldVal) ? [] : [invalidField(field, newVal, 'field is immutable')];
}

/** Deep equality of JSON values; `undefined` and missing are equal. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Object metadata
// ---------------------------------------------------------------------------

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isRecord(labels)) return [invalidField(path, labels, 'must be a map of strings')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const it of eachInvalid(path, k, isQualifiedName(k))) errs.push(it);
    if (typeof v !== 'string') errs.push(invalidField(path, v, 'must be a string'));
    else for (const it of eachInvalid(path, v, isValidLabelValue(v))) errs.push(it);
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isRecord(annotations)) return [invalidField(path, annotations, 'must be a map of strings')];
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const it of eachInvalid(path, k, isQualifiedName(k.toLowerCase()))) errs.push(it);
    if (typeof v !== 'string') errs.push(invalidField(path, v, 'must be a string'));
    total += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, '', TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export interface ObjectMetaOptions {
  namespaced: boolean;
  /** Name validator; default DNS-1123 subdomain. */
  nameFn?: NameFn;
}

/**
 * Upstream's ValidateObjectMeta: name or generateName, name format, namespace by
 * scope, labels, annotations, finalizers, owner references.
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  opts: ObjectMetaOptions,
  path = 'metadata',
): FieldError[] {
  const m: ObjectMeta = meta ?? {};
  const nameFn = opts.nameFn ?? isDNS1123Subdomain;
  const errs: FieldError[] = [];
  if (m.generateName) {
    errs.push(
      ...eachInvalid(`${path}.generateName`, m.generateName, nameFn(maskTrailingDash(m.generateName))),
    );
  }
  if (!m.name) {
    if (!m.generateName) errs.push(required(`${path}.name`, 'name or generateName is required'));
  } else {
    for (const it of eachInvalid(`${path}.name`, m.name, nameFn(m.name))) errs.push(it);
  }
  if (opts.namespaced) {
    if (!m.namespace) errs.push(required(`${path}.namespace`));
    else
      for (const it of eachInvalid(`${path}.namespace`, m.namespace, isDNS1123Label(m.namespace)))
        errs.push(it);
  } else if (m.namespace) {
    errs.push(forbiddenField(`${path}.namespace`, 'not allowed on this type'));
  }
  if (m.generation !== undefined && m.generation < 0) {
    errs.push(invalidField(`${path}.generation`, m.generation, 'must be greater than or equal to 0'));
  }
  for (const it of validateLabels(m.labels, `${path}.labels`)) errs.push(it);
  for (const it of validateAnnotations(m.annotations, `${path}.annotations`)) errs.push(it);
  for (const it of validateFinalizers(m.finalizers, `${path}.finalizers`)) errs.push(it);
  for (const it of validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`)) errs.push(it);
  return errs;
}

function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  if (!Array.isArray(finalizers)) return [];
  const errs: FieldError[] = [];
  finalizers.forEach((f, i) => {
    if (typeof f !== 'string') errs.push(invalidField(`${path}[${i}]`, f, 'must be a string'));
    else for (const it of eachInvalid(`${path}[${i}]`, f, isQualifiedName(f))) errs.push(it);
  });
  return errs;
}

function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  if (!Array.isArray(refs)) return [];
  const errs: FieldError[] = [];
  const controllers: string[] = [];
  // Upstream reports owner reference errors without the list index.
  for (const r of refs) {
    if (!isRecord(r)) continue;
    const apiVersion = typeof r.apiVersion === 'string' ? r.apiVersion : '';
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version) errs.push(invalidField(`${path}.apiVersion`, apiVersion, 'version must not be empty'));
    if (!r.kind) errs.push(invalidField(`${path}.kind`, r.kind ?? '', 'must not be empty'));
    if (!r.name) errs.push(invalidField(`${path}.name`, r.name ?? '', 'must not be empty'));
    if (!r.uid) errs.push(invalidField(`${path}.uid`, r.uid ?? '', 'must not be empty'));
    if (r.controller === true) controllers.push(String(r.name ?? ''));
  }
  if (controllers.length > 1) {
    errs.push(
      invalidField(
        path,
        refs,
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`,
      ),
    );
  }
  return errs;
}

/** Upstream's ValidateObjectMetaUpdate: identity fields are immutable; labels/annotations still valid. */
export function validateObjectMetaUpdate(
  meta: ObjectMeta | undefined,
  oldMeta: ObjectMeta | undefined,
  path = 'metadata',
): FieldError[] {
  const m: ObjectMeta = meta ?? {};
  const o: ObjectMeta = oldMeta ?? {};
  const errs: FieldError[] = [];
  for (const it of validateImmutableField(m.name, o.name, `${path}.name`)) errs.push(it);
  for (const it of validateImmutableField(m.namespace, o.namespace, `${path}.namespace`)) errs.push(it);
  for (const it of validateImmutableField(m.uid, o.uid, `${path}.uid`)) errs.push(it);
  for (const it of validateImmutableField(
    m.creationTimestamp,
    o.creationTimestamp,
    `${path}.creationTimestamp`,
  ))
    errs.push(it);
  if (m.generation !== undefined && o.generation !== undefined && m.generation < o.generation) {
    errs.push(invalidField(`${path}.generation`, m.generation, 'must not be decremented'));
  }
  for (const it of validateLabels(m.labels, `${path}.labels`)) errs.push(it);
  for (const it of validateAnnotations(m.annotations, `${path}.annotations`)) errs.push(it);
  for (const it of validateFinalizers(m.finalizers, `${path}.finalizers`)) errs.push(it);
  for (const it of validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`)) errs.push(it);
  return errs;
}

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/** Upstream's metav1validation.ValidateLabelSelector. */
export function validateLabelSelector(sel: LabelSelector | undefined, path: string): FieldError[] {
  if (!sel) return [];
  const errs: FieldError[] = [];
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errs.push(
            forbiddenField(
              `${p}.values`,
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        }
        break;
      default:
        errs.push(invalidField(`${p}.operator`, req.operator, 'not a valid selector operator'));
    }
    for (const it of eachInvalid(`${p}.key`, req.key, isQualifiedName(req.key ?? ''))) errs.push(it);
    values.forEach((v, j) => {
      for (const it of eachInvalid(`${p}.values[${j}]`, v, isValidLabelValue(v))) errs.push(it);
    });
  });
  for (const it of validateLabels(sel.matchLabels, `${path}.matchLabels`)) errs.push(it);
  return errs;
}

/** Whether a label selector matches a label set (used for selector/template checks). */
export function selectorMatches(
  sel: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const val = l[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(val as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(val as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------

export const QUANTITY_REGEX_TEXT = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const quantityRe =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const suffixFactor: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * Parses a resource.Quantity ("500m", "1Gi", "1e3", 2) into a float; null when
 * not a valid quantity. Precision is that of a double: good for comparisons.
 */
export function parseQuantity(q: unknown): number | null {
  if (typeof q === 'number') return Number.isFinite(q) ? q : null;
  if (typeof q !== 'string') return null;
  const m = quantityRe.exec(q.trim() === q ? q : '');
  if (!m) return null;
  const base = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix === '') return base;
  if (suffix[0] === 'e' || suffix[0] === 'E') return base * 10 ** Number(suffix.slice(1));
  const f = suffixFactor[suffix];
  return f === undefined ? null : base * f;
}

/** Validates a ResourceList: valid, non-negative quantities. */
export function validateResourceList(list: unknown, path: string): FieldError[] {
  if (list === undefined || list === null) return [];
  if (!isRecord(list)) return [invalidField(path, list, 'must be a map of resource quantities')];
  const errs: FieldError[] = [];
  for (const [name, q] of Object.entries(list)) {
    const p = `${path}[${name}]`;
    for (const it of eachInvalid(p, name, isQualifiedName(name))) errs.push(it);
    const v = parseQuantity(q);
    if (v === null) {
      errs.push(invalidField(p, q, `quantities must match the regular expression '${QUANTITY_REGEX_TEXT}'`));
    } else if (v < 0) {
      errs.push(invalidField(p, String(q), 'must be greater than or equal to 0'));
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------

export interface PodSpecOptions {
  /** Volume names that mounts may reference besides spec.volumes (StatefulSet volumeClaimTemplates). */
  extraVolumeNames?: Iterable<string>;
  /** Allowed restartPolicy values; default Always, OnFailure, Never (workload templates pass ["Always"]). */
  restartPolicies?: string[];
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TERMINATION_MESSAGE_POLICIES = ['FallbackToLogsOnError', 'File'];
const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

/** Upstream's ValidatePodTemplateSpec: template labels/annotations and the pod spec. */
export function validatePodTemplateSpec(tpl: unknown, path: string, opts: PodSpecOptions = {}): FieldError[] {
  if (!isRecord(tpl)) return [required(path)];
  const meta = isRecord(tpl.metadata) ? tpl.metadata : {};
  const errs: FieldError[] = [];
  for (const it of validateLabels(meta.labels, `${path}.labels`)) errs.push(it);
  for (const it of validateAnnotations(meta.annotations, `${path}.annotations`)) errs.push(it);
  for (const it of validatePodSpec(tpl.spec, `${path}.spec`, opts)) errs.push(it);
  return errs;
}

/** Upstream's ValidatePodSpec (the commonly hit subset). */
export function validatePodSpec(spec: unknown, path: string, opts: PodSpecOptions = {}): FieldError[] {
  if (!isRecord(spec)) return [required(path)];
  const errs: FieldError[] = [];

  // Volumes.
  const volumeNames = new Set<string>();
  asArray(spec.volumes).forEach((v, i) => {
    const p = `${path}.volumes[${i}]`;
    if (!isRecord(v)) {
      errs.push(invalidField(p, v, 'must be an object'));
      return;
    }
    const name = v.name;
    if (typeof name !== 'string' || name === '') errs.push(required(`${p}.name`));
    else {
      for (const it of eachInvalid(`${p}.name`, name, isDNS1123Label(name))) errs.push(it);
      if (volumeNames.has(name)) errs.push(duplicate(`${p}.name`, name));
      volumeNames.add(name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null);
    if (sources.length === 0) errs.push(required(p, 'must specify a volume type'));
    else if (sources.length > 1) {
      errs.push(forbiddenField(`${p}.${sources[1]}`, 'may not specify more than 1 volume type'));
    }
    const pvc = v.persistentVolumeClaim;
    if (isRecord(pvc) && !pvc.claimName) errs.push(required(`${p}.persistentVolumeClaim.claimName`));
    const cm = v.configMap;
    if (isRecord(cm) && cm.defaultMode !== undefined)
      for (const it of validateFileMode(cm.defaultMode, `${p}.configMap.defaultMode`)) errs.push(it);
    const secret = v.secret;
    if (isRecord(secret) && secret.defaultMode !== undefined) {
      for (const it of validateFileMode(secret.defaultMode, `${p}.secret.defaultMode`)) errs.push(it);
    }
    const hostPath = v.hostPath;
    if (isRecord(hostPath) && !hostPath.path) errs.push(required(`${p}.hostPath.path`));
  });
  const mountable = new Set(volumeNames);
  for (const n of opts.extraVolumeNames ?? []) mountable.add(n);

  // Containers.
  const containers = asArray(spec.containers);
  const initContainers = asArray(spec.initContainers);
  const containerNames = new Set<string>();
  if (containers.length === 0) errs.push(required(`${path}.containers`));
  initContainers.forEach((c, i) => {
    for (const it of validateContainer(c, `${path}.initContainers[${i}]`, containerNames, mountable, true))
      errs.push(it);
  });
  containers.forEach((c, i) => {
    for (const it of validateContainer(c, `${path}.containers[${i}]`, containerNames, mountable, false))
      errs.push(it);
  });

  // Pod-level fields.
  const restartPolicies = opts.restartPolicies ?? RESTART_POLICIES;
  if (spec.restartPolicy === undefined || spec.restartPolicy === '')
    errs.push(required(`${path}.restartPolicy`));
  else if (!restartPolicies.includes(spec.restartPolicy as string)) {
    errs.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, restartPolicies));
  }
  if (
    spec.dnsPolicy !== undefined &&
    spec.dnsPolicy !== '' &&
    !DNS_POLICIES.includes(spec.dnsPolicy as string)
  ) {
    errs.push(notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  }
  if (spec.dnsPolicy === 'None' && !isRecord(spec.dnsConfig)) {
    errs.push(required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    const a = spec.activeDeadlineSeconds;
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 1 || a > 2147483647) {
      errs.push(invalidField(`${path}.activeDeadlineSeconds`, a, inclusiveRangeError(1, 2147483647)));
    }
  }
  for (const it of validateLabels(spec.nodeSelector, `${path}.nodeSelector`)) errs.push(it);
  for (const f of ['serviceAccountName', 'nodeName'] as const) {
    const v = spec[f];
    if (typeof v === 'string' && v !== '')
      for (const it of eachInvalid(`${path}.${f}`, v, isDNS1123Subdomain(v))) errs.push(it);
  }
  for (const f of ['hostname', 'subdomain'] as const) {
    const v = spec[f];
    if (typeof v === 'string' && v !== '')
      for (const it of eachInvalid(`${path}.${f}`, v, isDNS1123Label(v))) errs.push(it);
  }
  asArray(spec.tolerations).forEach((t, i) => {
    if (!isRecord(t)) return;
    const p = `${path}.tolerations[${i}]`;
    const op = t.operator ?? 'Equal';
    if (typeof t.key === 'string' && t.key !== '')
      for (const it of eachInvalid(`${p}.key`, t.key, isQualifiedName(t.key))) errs.push(it);
    if (op !== 'Equal' && op !== 'Exists') errs.push(notSupported(`${p}.operator`, op, ['Equal', 'Exists']));
    if (op === 'Exists' && t.value) {
      errs.push(invalidField(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
    }
    if (!t.key && op !== 'Exists') {
      errs.push(
        invalidField(
          `${p}.operator`,
          op,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    const effects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
    if (t.effect !== undefined && t.effect !== '' && !effects.includes(t.effect as string)) {
      errs.push(notSupported(`${p}.effect`, t.effect, effects));
    }
  });
  return errs;
}

function validateFileMode(mode: unknown, path: string): FieldError[] {
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    return [invalidField(path, mode, 'must be a number between 0 and 0777 (octal), both inclusive')];
  }
  return [];
}

function validateContainer(
  c: unknown,
  p: string,
  names: Set<string>,
  volumes: Set<string>,
  init: boolean,
): FieldError[] {
  if (!isRecord(c)) return [invalidField(p, c, 'must be an object')];
  const errs: FieldError[] = [];
  const name = c.name;
  if (typeof name !== 'string' || name === '') errs.push(required(`${p}.name`));
  else {
    for (const it of eachInvalid(`${p}.name`, name, isDNS1123Label(name))) errs.push(it);
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
  }
  const image = c.image;
  if (typeof image !== 'string' || image === '') errs.push(required(`${p}.image`));
  else if (image.trim() !== image) {
    errs.push(invalidField(`${p}.image`, image, 'must not have leading or trailing whitespace'));
  }
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy as string)) {
    errs.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  }
  if (
    c.terminationMessagePolicy !== undefined &&
    !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy as string)
  ) {
    errs.push(
      notSupported(`${p}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES),
    );
  }

  // Ports.
  const portNames = new Set<string>();
  asArray(c.ports).forEach((port, j) => {
    if (!isRecord(port)) return;
    const pp = `${p}.ports[${j}]`;
    if (typeof port.name === 'string' && port.name !== '') {
      for (const it of eachInvalid(`${pp}.name`, port.name, isValidPortName(port.name))) errs.push(it);
      if (portNames.has(port.name)) errs.push(duplicate(`${pp}.name`, port.name));
      portNames.add(port.name);
    }
    if (port.containerPort === undefined || port.containerPort === 0)
      errs.push(required(`${pp}.containerPort`));
    else
      errs.push(
        ...eachInvalid(
          `${pp}.containerPort`,
          port.containerPort,
          isValidPortNum(port.containerPort as number),
        ),
      );
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      for (const it of eachInvalid(`${pp}.hostPort`, port.hostPort, isValidPortNum(port.hostPort as number)))
        errs.push(it);
    }
    if (port.protocol === undefined || port.protocol === '') errs.push(required(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(port.protocol as string)) {
      errs.push(notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    }
  });

  // Env.
  asArray(c.env).forEach((e, j) => {
    if (!isRecord(e)) return;
    const ep = `${p}.env[${j}]`;
    if (typeof e.name !== 'string' || e.name === '') errs.push(required(`${ep}.name`));
    else if (e.name.includes('=')) {
      errs.push(
        invalidField(
          `${ep}.name`,
          e.name,
          "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ),
      );
    }
    if (e.value !== undefined && e.value !== '' && e.valueFrom !== undefined) {
      errs.push(invalidField(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    }
  });

  // Volume mounts.
  const mountPaths = new Set<string>();
  asArray(c.volumeMounts).forEach((m, j) => {
    if (!isRecord(m)) return;
    const mp = `${p}.volumeMounts[${j}]`;
    if (typeof m.name !== 'string' || m.name === '') errs.push(required(`${mp}.name`));
    else if (!volumes.has(m.name)) errs.push(notFoundField(`${mp}.name`, m.name));
    if (typeof m.mountPath !== 'string' || m.mountPath === '') errs.push(required(`${mp}.mountPath`));
    else {
      if (mountPaths.has(m.mountPath))
        errs.push(invalidField(`${mp}.mountPath`, m.mountPath, 'must be unique'));
      mountPaths.add(m.mountPath);
    }
  });

  // Resources.
  const res = isRecord(c.resources) ? c.resources : {};
  for (const it of validateResourceList(res.limits, `${p}.resources.limits`)) errs.push(it);
  for (const it of validateResourceList(res.requests, `${p}.resources.requests`)) errs.push(it);
  if (isRecord(res.limits) && isRecord(res.requests)) {
    for (const [k, rq] of Object.entries(res.requests)) {
      const lim = res.limits[k];
      if (lim === undefined) continue;
      const rv = parseQuantity(rq);
      const lv = parseQuantity(lim);
      if (rv !== null && lv !== null && rv > lv) {
        errs.push(
          invalidField(
            `${p}.resources.requests`,
            String(rq),
            `must be less than or equal to ${k} limit of ${String(lim)}`,
          ),
        );
      }
    }
  }

  // Probes (lifecycle probes are not allowed on init containers without restartPolicy Always).
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const pr = c[probe];
    if (!isRecord(pr)) continue;
    if (init && c.restartPolicy !== 'Always') {
      errs.push(
        forbiddenField(`${p}.${probe}`, `may not be set for init containers without restartPolicy=Always`),
      );
      continue;
    }
    const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => pr[h] !== undefined);
    if (handlers.length === 0) errs.push(required(`${p}.${probe}`, 'must specify a handler type'));
    else if (handlers.length > 1)
      errs.push(forbiddenField(`${p}.${probe}.${handlers[1]}`, 'may not specify more than 1 handler type'));
    if (probe !== 'readinessProbe' && pr.successThreshold !== undefined && pr.successThreshold !== 1) {
      errs.push(invalidField(`${p}.${probe}.successThreshold`, pr.successThreshold, 'must be 1'));
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------
// Pod defaults
// ---------------------------------------------------------------------------

/** The tag of an image reference ("" when only a digest is given, "latest" when neither). */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const tag = colon > lastSlash ? withoutDigest.slice(colon + 1) : '';
  if (tag === '' && at < 0) return 'latest';
  return tag;
}

function defaultProbe(p: unknown): void {
  if (!isRecord(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (isRecord(p.httpGet)) {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

function defaultHandler(h: unknown): void {
  if (isRecord(h) && isRecord(h.httpGet)) {
    h.httpGet.path ??= '/';
    h.httpGet.scheme ??= 'HTTP';
  }
}

/** Upstream's SetDefaults_Container (+ ports, probes, env field refs). */
export function defaultContainer(c: Record<string, unknown>, hostNetwork = false): void {
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === '') {
    const image = typeof c.image === 'string' ? c.image : '';
    c.imagePullPolicy = imageTag(image) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  if (c.resources === undefined) c.resources = {};
  for (const port of asArray(c.ports)) {
    if (!isRecord(port)) continue;
    if (!port.protocol) port.protocol = 'TCP';
    if (hostNetwork && (port.hostPort === undefined || port.hostPort === 0))
      port.hostPort = port.containerPort;
  }
  for (const e of asArray(c.env)) {
    if (!isRecord(e) || !isRecord(e.valueFrom)) continue;
    const fr = e.valueFrom.fieldRef;
    if (isRecord(fr)) fr.apiVersion ??= 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isRecord(c.lifecycle)) {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
}

function defaultVolume(v: Record<string, unknown>): void {
  if (!VOLUME_SOURCES.some((s) => v[s] !== undefined && v[s] !== null)) v.emptyDir = {};
  for (const key of ['configMap', 'secret', 'downwardAPI', 'projected'] as const) {
    const src = v[key];
    if (isRecord(src)) src.defaultMode ??= 420;
  }
  const projected = v.projected;
  if (isRecord(projected)) {
    for (const s of asArray(projected.sources)) {
      if (!isRecord(s)) continue;
      const sat = s.serviceAccountToken;
      if (isRecord(sat)) sat.expirationSeconds ??= 3600;
    }
  }
  const dapi = v.downwardAPI;
  if (isRecord(dapi)) {
    for (const item of asArray(dapi.items)) {
      if (isRecord(item) && isRecord(item.fieldRef)) item.fieldRef.apiVersion ??= 'v1';
    }
  }
  const hp = v.hostPath;
  if (isRecord(hp)) hp.type ??= '';
}

/**
 * Upstream's SetDefaults_PodSpec (+ containers and volumes), as seen in
 * `kubectl get -o yaml` of a pod template: restartPolicy Always,
 * terminationGracePeriodSeconds 30, dnsPolicy ClusterFirst, schedulerName
 * default-scheduler, securityContext {}, per-container pull policy etc.
 */
export function defaultPodSpec(spec: Record<string, unknown>): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.securityContext === undefined || spec.securityContext === null) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    spec.terminationGracePeriodSeconds = 30;
  }
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  // serviceAccount is the deprecated alias of serviceAccountName; upstream keeps them in sync.
  if (spec.serviceAccountName && !spec.serviceAccount) spec.serviceAccount = spec.serviceAccountName;
  else if (spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of [...asArray(spec.initContainers), ...asArray(spec.containers)]) {
    if (isRecord(c)) defaultContainer(c, hostNetwork);
  }
  for (const v of asArray(spec.volumes)) if (isRecord(v)) defaultVolume(v);
}

/** Defaults the spec of a pod template (metadata is left as given). */
export function defaultPodTemplateSpec(tpl: unknown): void {
  if (!isRecord(tpl)) return;
  if (!isRecord(tpl.spec)) return;
  defaultPodSpec(tpl.spec);
}

/**
 * Defaults that upstream applies only to Pods (SetDefaults_Pod): requests
 * default to limits, enableServiceLinks true; plus what the default admission
 * chain adds to every pod (priority 0 / PreemptLowerPriority).
 */
export function defaultPodOnlyFields(spec: Record<string, unknown>): void {
  for (const c of [...asArray(spec.initContainers), ...asArray(spec.containers)]) {
    if (!isRecord(c) || !isRecord(c.resources) || !isRecord(c.resources.limits)) continue;
    const req: Record<string, unknown> = isRecord(c.resources.requests) ? c.resources.requests : {};
    for (const [k, v] of Object.entries(c.resources.limits)) if (req[k] === undefined) req[k] = v;
    c.resources.requests = req;
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null)
    spec.enableServiceLinks = true;
  if (spec.priority === undefined) spec.priority = 0;
  if (spec.preemptionPolicy === undefined) spec.preemptionPolicy = 'PreemptLowerPriority';
}

// ---------------------------------------------------------------------------
// Small JSON helpers
// ---------------------------------------------------------------------------

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
