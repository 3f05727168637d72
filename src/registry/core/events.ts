import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { eventColumns } from '../misc/event.js';
import { rec, since, str } from '../printers.js';
import type { ResourceDef } from '../types.js';
import {
  eachInvalid,
  invalidField,
  isDNS1123Subdomain,
  isRecord,
  required,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../validation.js';

function validateEvent(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const involved = rec(obj.involvedObject);
  const ns = obj.metadata.namespace ?? '';
  const involvedNs = str(involved.namespace);
  const hasEventTime = typeof obj.eventTime === 'string' && obj.eventTime !== '';
  if (!hasEventTime) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs) {
      errs.push(invalidField('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') {
      errs.push(invalidField('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
    if (!str(obj.reportingComponent)) errs.push(required('reportingComponent'));
    if (!str(obj.reportingInstance)) errs.push(required('reportingInstance'));
    if (!str(obj.action)) errs.push(required('action'));
    if (!str(obj.reason)) errs.push(required('reason'));
  }
  for (const it of eachInvalid('namespace', ns, isDNS1123Subdomain(ns))) errs.push(it);
  return errs;
}

/** "Normal"/"Warning" events from the core API count from 1 when unset. */
function eventCount(obj: KObject): number {
  const series = obj.series;
  if (isRecord(series)) return Number(series.count ?? 0);
  const c = Number(obj.count ?? 0);
  return c === 0 ? 1 : c;
}

function row(obj: KObject, now: Date): unknown[] {
  const first = obj.firstTimestamp ? since(obj.firstTimestamp, now) : since(obj.eventTime, now);
  let last = obj.lastTimestamp ? since(obj.lastTimestamp, now) : first;
  if (isRecord(obj.series)) last = since(obj.series.lastObservedTime, now);
  const involved = rec(obj.involvedObject);
  const kind = str(involved.kind).toLowerCase();
  const target = str(involved.name) ? `${kind}/${str(involved.name)}` : kind;
  const source = rec(obj.source);
  const component = str(source.component) || str(obj.reportingComponent);
  const host = str(source.host) || str(obj.reportingInstance);
  return [
    last,
    str(obj.type),
    str(obj.reason),
    target,
    str(involved.fieldPath),
    host ? `${component}, ${host}` : component,
    str(obj.message).trim(),
    first,
    eventCount(obj),
    obj.metadata.name ?? '',
  ];
}

export const events: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  hasStatus: false,
  tracksGeneration: false,
  validate: (obj) => [...validateObjectMeta(obj.metadata, { namespaced: true }), ...validateEvent(obj)],
  validateUpdate: (obj, old) => [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateEvent(obj),
  ],
  columns: eventColumns,
  row,
  fieldLabels(obj) {
    const involved = rec(obj.involvedObject);
    return {
      'involvedObject.kind': str(involved.kind),
      'involvedObject.namespace': str(involved.namespace),
      'involvedObject.name': str(involved.name),
      'involvedObject.uid': str(involved.uid),
      'involvedObject.apiVersion': str(involved.apiVersion),
      'involvedObject.resourceVersion': str(involved.resourceVersion),
      'involvedObject.fieldPath': str(involved.fieldPath),
      reason: str(obj.reason),
      reportingComponent: str(obj.reportingComponent),
      source: str(rec(obj.source).component) || str(obj.reportingComponent),
      type: str(obj.type),
    };
  },
};
