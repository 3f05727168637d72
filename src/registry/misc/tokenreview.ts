/** authentication.k8s.io/v1 TokenReview: authenticate a bearer token. */
import type { ResourceDef } from '../types.js';
import { reviewKind } from './reviews.js';

export const tokenReviews: ResourceDef = reviewKind('authentication.k8s.io', 'TokenReview', 'tokenreviews');
