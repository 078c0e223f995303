/**
 * The SASL hook. A connection calls `authenticate(connection)` once, after ApiVersions and
 * before any other request, as Kafka's SASL sequence requires (docs/protocol.html "SASL
 * Authentication Sequence"). A mechanism sends SaslHandshake v1 with its name and then its
 * tokens in SaslAuthenticate requests through `connection.request(...)`, and throws
 * (KafkaResponseError with SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, ...) to fail the
 * connection. The PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER mechanisms come with the security
 * issue; @samsa/protocol already has their payload formats (`sasl/`).
 */
import type { Connection } from './connection.ts'

export interface SaslAuthenticator {
  /** Kafka's mechanism name, e.g. `PLAIN` or `SCRAM-SHA-512`. */
  readonly mechanism: string
  /** Runs the handshake and token exchange on a connection that has negotiated versions. */
  authenticate (connection: Connection): Promise<void>
}
