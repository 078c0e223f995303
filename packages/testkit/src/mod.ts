/** @samsa/testkit: in-process Samsa brokers and raw protocol connections for tests. */
export { startBroker, type StartBrokerOptions, type TestBroker } from './start-broker.ts'
export { connectRaw, type RawClient } from './raw-client.ts'
