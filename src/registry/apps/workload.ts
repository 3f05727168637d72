/**
 * Checks shared by the apps/v1 workload kinds (StatefulSet, Deployment,
 * ReplicaSet): selector vs template labels, the pod template of
 * ReplicaSet-style workloads, and the common table cells.
 */
import type { FieldError } from '../../api/errors.js';
import type { LabelSelector } from '../../api/types.js';
import { goLabelSelector, goStringMap, invalidRepr } from '../misc/util.js';
import { formatLabelSelector, get, layoutContainerCells } from '../printers.js';
import {
  forbiddenField,
  isRecord,
  required,
  selectorMatches,
  validateLabelSelector,
  validatePodTemplateSpec,
} from '../validation.js';

export const SELECTOR_MISMATCH = '`selector` does not match template `labels`';

export interface SelectorCheck {
  errors: FieldError[];
  /** The selector could be turned into a labels.Selector (nil counts: it selects nothing). */
  parsed: boolean;
}

/**
 * spec.selector: required, valid, non-empty (`what` names the kind in
 * "empty selector is invalid for <what>"). `parseDetail` is the detail upstream
 * gives when LabelSelectorAsSelector fails ("" for StatefulSet, "invalid label
 * selector" for Deployment/ReplicaSet).
 */
export function validateSpecSelector(
  sel: unknown,
  path: string,
  what: string,
  parseDetail: string,
): SelectorCheck {
  const errors: FieldError[] = [];
  if (sel === undefined || sel === null) {
    errors.push(required(path));
    return { errors, parsed: true };
  }
  const s = isRecord(sel) ? (sel as LabelSelector) : {};
  const selErrs = validateLabelSelector(s, path);
  for (const it of selErrs) errors.push(it);
  const size = Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions ?? []).length;
  if (size === 0)
    errors.push(invalidRepr(path, sel, goLabelSelector(sel), `empty selector is invalid for ${what}`));
  if (selErrs.length > 0) {
    errors.push(invalidRepr(path, sel, goLabelSelector(sel), parseDetail || undefined));
    return { errors, parsed: false };
  }
  return { errors, parsed: true };
}

/**
 * "`selector` does not match template `labels`" unless the selector is empty
 * (matches everything). A nil selector matches nothing, as upstream's
 * labels.Nothing(), so it also yields this error next to "Required value".
 */
export function selectorTemplateMismatch(
  sel: unknown,
  template: unknown,
  templatePath: string,
): FieldError[] {
  const labels = get(template, 'metadata', 'labels');
  const s = isRecord(sel) ? (sel as LabelSelector) : undefined;
  if (s && Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions ?? []).length === 0) return [];
  const l = isRecord(labels) ? (labels as Record<string, string>) : undefined;
  if (s && selectorMatches(s, l)) return [];
  return [
    invalidRepr(`${templatePath}.metadata.labels`, labels ?? null, goStringMap(labels), SELECTOR_MISMATCH),
  ];
}

/** Upstream's ValidatePodTemplateSpecForReplicaSet (Deployment and ReplicaSet). */
export function validateReplicaSetTemplate(sel: unknown, template: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isRecord(template)) return [required(path)];
  for (const it of selectorTemplateMismatch(sel, template, path)) errs.push(it);
  for (const it of validatePodTemplateSpec(template, path, { restartPolicies: ['Always'] })) errs.push(it);
  const ads = get(template, 'spec', 'activeDeadlineSeconds');
  if (ads !== undefined && ads !== null) {
    errs.push(
      forbiddenField(
        `${path}.spec.activeDeadlineSeconds`,
        'activeDeadlineSeconds in ReplicaSet is not Supported',
      ),
    );
  }
  return errs;
}

/** CONTAINERS and IMAGES cells of a workload's pod template. */
export function templateCells(obj: unknown): [string, string] {
  const { names, images } = layoutContainerCells(get(obj, 'spec', 'template', 'spec'));
  return [names, images];
}

/** metav1.FormatLabelSelector of spec.selector ("<none>" when empty). */
export function selectorCell(obj: unknown): string {
  return formatLabelSelector(get(obj, 'spec', 'selector'));
}
