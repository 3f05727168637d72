/**
 * Shared shape of the create-only review kinds (authorization.k8s.io and
 * authentication.k8s.io): cluster-scoped, verbs ["create"], nothing stored, no
 * table columns. Each kind lives in its own file and uses `reviewKind`.
 */
import type { FieldError } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { ResourceDef } from '../types.js';
import { invalidField, isRecord } from '../validation.js';
import { CREATE_ONLY_VERBS, isNil } from './util.js';

export function reviewKind(
  group: string,
  kind: string,
  plural: string,
  validate?: (obj: KObject) => FieldError[],
): ResourceDef {
  return {
    group,
    version: 'v1',
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: false,
    verbs: CREATE_ONLY_VERBS,
    // Reviews carry no name; without a validate hook the server would demand one.
    validate: validate ?? (() => []),
    columns: [],
    row: () => [],
  };
}

/** Upstream's ValidateSelfSubjectAccessReviewSpec (also the attribute part of SubjectAccessReview). */
export function validateAccessReviewAttributes(specIn: unknown, path = 'spec'): FieldError[] {
  const spec = isRecord(specIn) ? specIn : {};
  const hasResource = !isNil(spec.resourceAttributes);
  const hasNonResource = !isNil(spec.nonResourceAttributes);
  if (hasResource && hasNonResource) {
    return [
      invalidField(
        `${path}.nonResourceAttributes`,
        spec.nonResourceAttributes,
        'cannot be specified in combination with resourceAttributes',
      ),
    ];
  }
  if (!hasResource && !hasNonResource) {
    return [
      invalidField(
        `${path}.resourceAttributes`,
        null,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    ];
  }
  return [];
}
