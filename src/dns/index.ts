export {
  ClusterDnsIndex,
  canonicalIp,
  DNS_SCHEMA_VERSION,
  endpointLabel,
  type IndexOptions,
  ipFromReverse,
  type PodMode,
  type Resolution,
  reverseName,
} from './records.js';
export {
  type ClusterDns,
  type ClusterDnsOptions,
  forwardQuery,
  parseUpstream,
  resolvConfNameservers,
  startClusterDns,
  truncate,
  udpLimit,
} from './server.js';
