import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * Loads a native codec package on first use. The packages are CommonJS with prebuilt
 * binaries; loading lazily keeps `import '@samsa/protocol'` working on a platform where one
 * of them is missing, and only that codec then fails (with a clear message).
 */
export function lazyNative<T> (name: string): () => T {
  let loaded: T | undefined
  let failure: Error | undefined
  return () => {
    if (loaded !== undefined) return loaded
    if (failure !== undefined) throw failure
    try {
      loaded = require(name) as T
      return loaded
    } catch (cause) {
      failure = new Error(`The compression package '${name}' could not be loaded`, { cause })
      throw failure
    }
  }
}
