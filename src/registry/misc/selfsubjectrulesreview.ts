/** authorization.k8s.io/v1 SelfSubjectRulesReview: the rules the caller has in a namespace (kubectl auth can-i --list). */
import type { ResourceDef } from '../types.js';
import { reviewKind } from './reviews.js';

export const selfSubjectRulesReviews: ResourceDef = reviewKind(
  'authorization.k8s.io',
  'SelfSubjectRulesReview',
  'selfsubjectrulesreviews',
);
