/** authorization.k8s.io/v1 SelfSubjectAccessReview: "can I ...?" (kubectl auth can-i). */
import type { ResourceDef } from '../types.js';
import { reviewKind, validateAccessReviewAttributes } from './reviews.js';

export const selfSubjectAccessReviews: ResourceDef = reviewKind(
  'authorization.k8s.io',
  'SelfSubjectAccessReview',
  'selfsubjectaccessreviews',
  (obj) => validateAccessReviewAttributes(obj.spec),
);
