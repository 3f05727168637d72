/** authorization.k8s.io/v1 SubjectAccessReview: "can user X ...?" (webhook-style authorization checks). */
import type { FieldError } from '../../api/errors.js';
import type { ResourceDef } from '../types.js';
import { invalidField, isRecord } from '../validation.js';
import { reviewKind, validateAccessReviewAttributes } from './reviews.js';

export const subjectAccessReviews: ResourceDef = reviewKind(
  'authorization.k8s.io',
  'SubjectAccessReview',
  'subjectaccessreviews',
  (obj) => {
    const errs: FieldError[] = validateAccessReviewAttributes(obj.spec);
    const spec = isRecord(obj.spec) ? obj.spec : {};
    const user = typeof spec.user === 'string' ? spec.user : '';
    const groups = Array.isArray(spec.groups) ? spec.groups : [];
    if (user === '' && groups.length === 0) {
      errs.push(invalidField('spec.user', user, 'at least one of user or group must be specified'));
    }
    return errs;
  },
);
