export * from './probe.js';
export * from './rootfs.js';
export * from './runtime.js';
export * from './sandbox.js';
export * from './spec.js';
export { findBusybox, which } from './util.js';
