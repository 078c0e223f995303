/** @samsa/testkit: in-process Samsa brokers and clusters, a real etcd, and raw protocol connections for tests. */
export { startBroker, type StartBrokerOptions, type TestBroker } from './start-broker.ts'
export { connectRaw, type RawClient } from './raw-client.ts'
export { startCluster, type StartClusterOptions, type TestCluster, type ClusterBroker } from './start-cluster.ts'
export { startEtcd, etcdAvailable, freePort, type EtcdServer } from './etcd-server.ts'
export { startTcpProxy, type TcpProxy, type TcpProxyOptions, type CutMode } from './tcp-proxy.ts'
