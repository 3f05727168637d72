export { BRIDGE_NF_CALL_IPTABLES, LINUX_HOST, type NftResult, type ProxyHost } from './host.js';
export { buildProxyModel, type Endpoint, type ServicePortRule } from './model.js';
export { type ServiceProxy, type ServiceProxyOptions, startServiceProxy } from './proxy.js';
export { deleteTableScript, type RenderedTable, renderTable, syncScript } from './ruleset.js';
