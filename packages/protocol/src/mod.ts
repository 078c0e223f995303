export * from './primitives/mod.ts'
export * from './api.ts'
export * from './messages/index.ts'
