/**
 * @samsa/protocol: the sans-I/O Kafka wire protocol. Message structs live in their generated
 * modules (`@samsa/protocol/messages/<api>`); this entry point exports the building blocks,
 * framing, the API registry, records, compression, errors, consumer-protocol and SASL formats.
 */
export * from './primitives/mod.ts'
export * from './api.ts'
export * from './messages/index.ts'
export * from './frame.ts'
export * from './frame-decoder.ts'
export * from './errors/mod.ts'
export * from './consumer-protocol/mod.ts'
export * from './sasl/mod.ts'
export * from './records/mod.ts'
