/** SASL message formats: PLAIN (RFC 4616) and SCRAM (RFC 5802/7677) with its crypto. */
export { SaslError } from './sasl-error.ts'
export {
  PLAIN_MECHANISM, parsePlain, formatPlain, type PlainCredentials, type PlainCredentialsInput
} from './plain.ts'
export {
  ScramMechanism, type ScramMechanismName, isScramMechanism,
  SCRAM_MIN_ITERATIONS, SCRAM_MAX_ITERATIONS, SCRAM_TOKEN_AUTH_EXTENSION,
  scramEscapeName, scramUnescapeName,
  parseClientFirst, formatClientFirst, type ScramClientFirst, type ScramClientFirstInput,
  parseServerFirst, formatServerFirst, type ScramServerFirst, type ScramServerFirstInput,
  parseClientFinal, formatClientFinal, formatClientFinalWithoutProof, type ScramClientFinal,
  parseServerFinal, formatServerFinal, type ScramServerFinal,
  scramNonce, scramSaltedPassword, scramClientKey, scramServerKey, scramStoredKey, scramAuthMessage,
  scramClientSignature, scramServerSignature, scramXor, scramEqual,
  scramCredential, type ScramCredential,
  scramClientFinalStep, type ScramClientFinalStep, scramVerifyServerFinal, scramServerFinalStep
} from './scram.ts'
