/** The scheduler (kube-scheduler's default profile, in process). */
export { podKey, SchedulerCache } from './cache.js';
export * from './filters.js';
export * from './fit-error.js';
export * from './interpod.js';
export { effectiveTaints, NodeInfo, type PodEntry, type Taint } from './nodeinfo.js';
export { type PodInfo, podInfo, podRequests, type Resources } from './podinfo.js';
export {
  DEFAULT_SCHEDULER_NAME,
  POD_INITIAL_BACKOFF_MS,
  POD_MAX_BACKOFF_MS,
  Scheduler,
  type SchedulerOptions,
  type SchedulingDecision,
  truncateMessage,
  UNSCHEDULABLE_MAX_RETRY_MS,
  UNSCHEDULABLE_RETRY_MS,
} from './scheduler.js';
export * from './volumes.js';
