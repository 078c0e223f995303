/** @samsa/testkit: in-process Samsa brokers for tests. */
export { startBroker, type StartBrokerOptions, type TestBroker } from './start-broker.ts'
