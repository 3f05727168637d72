export { type OciNode, type OciNodeOptions, pullPolicy, startOciNode } from './agent.js';
export {
  containerLogFiles,
  containerLogPath,
  followContainerLog,
  formatLogLines,
  type LogLine,
  LogNotFoundError,
  type LogOptions,
  parseCriLog,
  podLogDir,
  readContainerLog,
} from './logs.js';
export {
  ContainerConfigError,
  containerEnv,
  type EnvSources,
  expandVars,
  hostsFile,
  podHostname,
  resolvConf,
} from './pod-files.js';
export { type ProbeResult, type ProbeTarget, probeTiming, resolvePort, runProbe } from './probe.js';
