/** authentication.k8s.io/v1 SelfSubjectReview: "who am I?" (kubectl auth whoami). */
import type { ResourceDef } from '../types.js';
import { reviewKind } from './reviews.js';

export const selfSubjectReviews: ResourceDef = reviewKind(
  'authentication.k8s.io',
  'SelfSubjectReview',
  'selfsubjectreviews',
);
