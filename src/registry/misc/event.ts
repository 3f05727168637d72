/**
 * events.k8s.io/v1 Event. Upstream serves it from the core Event storage, so
 * the table is the core events table (LAST SEEN TYPE REASON OBJECT MESSAGE, wide
 * adds SUBOBJECT SOURCE FIRST SEEN COUNT NAME) computed from the v1 field names
 * (regarding, note, deprecated*, series). Validation is the strict
 * events.k8s.io one; field paths use the internal (core) names, as upstream.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { column, get, NAME_DESCRIPTION, since, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isDNS1123Subdomain,
  isQualifiedName,
  isRecord,
  required,
  validateImmutableField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';
import { ALL_VERBS, isNil, num, semanticEqual } from './util.js';

const REPORTING_INSTANCE_LIMIT = 128;
const ACTION_LIMIT = 128;
const REASON_LIMIT = 128;
const NOTE_LIMIT = 1024;

function isSet(v: unknown): boolean {
  return typeof v === 'string' ? v !== '' : !isNil(v);
}

/** Upstream's legacyValidateEvent for a request through events.k8s.io/v1. */
function legacyValidate(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const namespace = obj.metadata.namespace ?? '';
  const regardingNs = str(get(obj, 'regarding', 'namespace'));
  if (!isSet(obj.eventTime)) {
    if (regardingNs === '') {
      if (namespace !== '' && namespace !== 'default') {
        errs.push(invalidField('involvedObject.namespace', regardingNs, 'does not match event.namespace'));
      }
    } else if (namespace !== regardingNs) {
      errs.push(invalidField('involvedObject.namespace', regardingNs, 'does not match event.namespace'));
    }
  } else {
    if (regardingNs === '' && namespace !== 'default' && namespace !== 'kube-system') {
      errs.push(invalidField('involvedObject.namespace', regardingNs, 'does not match event.namespace'));
    }
    const controller = str(obj.reportingController);
    if (controller === '') errs.push(required('reportingController'));
    for (const it of eachInvalid('reportingController', controller, isQualifiedName(controller)))
      errs.push(it);
    const instance = str(obj.reportingInstance);
    if (instance === '') errs.push(required('reportingInstance'));
    if (instance.length > REPORTING_INSTANCE_LIMIT) {
      errs.push(
        invalidField('reportingInstance', '', `can have at most ${REPORTING_INSTANCE_LIMIT} characters`),
      );
    }
    const action = str(obj.action);
    if (action === '') errs.push(required('action'));
    if (action.length > ACTION_LIMIT)
      errs.push(invalidField('action', '', `can have at most ${ACTION_LIMIT} characters`));
    const reason = str(obj.reason);
    if (reason === '') errs.push(required('reason'));
    if (reason.length > REASON_LIMIT)
      errs.push(invalidField('reason', '', `can have at most ${REASON_LIMIT} characters`));
    if (str(obj.note).length > NOTE_LIMIT) {
      errs.push(invalidField('message', '', `can have at most ${NOTE_LIMIT} characters`));
    }
  }
  for (const it of eachInvalid('namespace', namespace, isDNS1123Subdomain(namespace))) errs.push(it);
  return errs;
}

function validateSeries(obj: KObject): FieldError[] {
  if (!isRecord(obj.series)) return [];
  const errs: FieldError[] = [];
  if (num(obj.series.count) < 2) errs.push(invalidField('series.count', '', 'should be at least 2'));
  if (!isSet(obj.series.lastObservedTime)) errs.push(required('series.lastObservedTime'));
  return errs;
}

export function validateEvent(obj: KObject): FieldError[] {
  const errs = legacyValidate(obj);
  for (const it of validateObjectMeta(obj.metadata, { namespaced: true })) errs.push(it);
  for (const it of validateSeries(obj)) errs.push(it);
  if (!isSet(obj.eventTime)) errs.push(required('eventTime'));
  if (obj.type !== 'Normal' && obj.type !== 'Warning') {
    errs.push(invalidField('type', '', `has invalid value: ${str(obj.type)}`));
  }
  if (isSet(obj.deprecatedFirstTimestamp)) errs.push(invalidField('firstTimestamp', '', 'needs to be unset'));
  if (isSet(obj.deprecatedLastTimestamp)) errs.push(invalidField('lastTimestamp', '', 'needs to be unset'));
  if (num(obj.deprecatedCount) !== 0) errs.push(invalidField('count', '', 'needs to be unset'));
  if (
    str(get(obj, 'deprecatedSource', 'component')) !== '' ||
    str(get(obj, 'deprecatedSource', 'host')) !== ''
  ) {
    errs.push(invalidField('source', '', 'needs to be unset'));
  }
  return errs;
}

/** Everything but metadata and series is immutable (paths as upstream's internal names). */
const IMMUTABLE: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['reason', 'reason'],
  ['note', 'message'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
  ['type', 'type'],
  ['eventTime', 'eventTime'],
  ['action', 'action'],
  ['related', 'related'],
  ['reportingController', 'reportingController'],
  ['reportingInstance', 'reportingInstance'],
];

export function validateEventUpdate(obj: KObject, old: KObject): FieldError[] {
  const errs = legacyValidate(obj);
  for (const it of validateObjectMetaUpdate(obj.metadata, old.metadata)) errs.push(it);
  if (!semanticEqual(obj.series, old.series)) for (const it of validateSeries(obj)) errs.push(it);
  for (const [key, path] of IMMUTABLE) {
    if (!semanticEqual(obj[key], old[key]))
      for (const it of validateImmutableField(obj[key], old[key], path)) errs.push(it);
  }
  return errs;
}

/** Upstream's formatEventSource: component (or reportingController), then ", host" when known. */
function eventSource(obj: KObject): string {
  const component = str(get(obj, 'deprecatedSource', 'component')) || str(obj.reportingController);
  const host = str(get(obj, 'deprecatedSource', 'host')) || str(obj.reportingInstance);
  return host === '' ? component : `${component}, ${host}`;
}

export function eventRow(obj: KObject, now: Date): unknown[] {
  const firstTimestamp = isSet(obj.deprecatedFirstTimestamp)
    ? since(obj.deprecatedFirstTimestamp, now)
    : since(obj.eventTime, now);
  let lastTimestamp = isSet(obj.deprecatedLastTimestamp)
    ? since(obj.deprecatedLastTimestamp, now)
    : firstTimestamp;
  let count = num(obj.deprecatedCount);
  if (isRecord(obj.series)) {
    lastTimestamp = since(obj.series.lastObservedTime, now);
    count = num(obj.series.count);
  } else if (count === 0) {
    count = 1; // singleton events carry no count in the new API
  }
  const kind = str(get(obj, 'regarding', 'kind')).toLowerCase();
  const name = str(get(obj, 'regarding', 'name'));
  return [
    lastTimestamp,
    str(obj.type),
    str(obj.reason),
    name === '' ? kind : `${kind}/${name}`,
    str(get(obj, 'regarding', 'fieldPath')),
    eventSource(obj),
    str(obj.note).trim(),
    firstTimestamp,
    count,
    obj.metadata.name ?? '',
  ];
}

export const eventColumns = [
  column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
  column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  column(
    'Reason',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  column('Object', 'The object that this event is about.'),
  column(
    'Subobject',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    { priority: 1 },
  ),
  column('Source', 'The component reporting this event. Should be a short machine understandable string.', {
    priority: 1,
  }),
  column('Message', 'A human-readable description of the status of this operation.'),
  column(
    'First Seen',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    {
      priority: 1,
    },
  ),
  column('Count', 'The number of times this event has occurred.', { priority: 1 }),
  column('Name', NAME_DESCRIPTION, { format: 'name', priority: 1 }),
];

export const events: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: ALL_VERBS,
  validate: validateEvent,
  validateUpdate: validateEventUpdate,
  // Upstream's events table puts Name last (wide only), unlike other kinds.
  columns: eventColumns,
  row: eventRow,
  fieldLabels(obj) {
    const regarding = (k: string) => str(get(obj, 'regarding', k));
    return {
      'regarding.kind': regarding('kind'),
      'regarding.namespace': regarding('namespace'),
      'regarding.name': regarding('name'),
      'regarding.uid': regarding('uid'),
      'regarding.apiVersion': regarding('apiVersion'),
      'regarding.resourceVersion': regarding('resourceVersion'),
      'regarding.fieldPath': regarding('fieldPath'),
      reason: str(obj.reason),
      reportingController: str(obj.reportingController),
      source: str(get(obj, 'deprecatedSource', 'component')) || str(obj.reportingController),
      type: str(obj.type),
    };
  },
};
