/**
 * Authorized-operations bit fields (KIP-430). Without an authorizer every operation a
 * resource type supports is allowed; the value is the sum of 1 << AclOperation code
 * (AclOperation.java: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
 * CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12).
 * INT32_MIN means "not requested".
 */
export const UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648

function bits (...ops: number[]): number {
  return ops.reduce((sum, op) => sum | (1 << op), 0)
}

export const TOPIC_AUTHORIZED_OPERATIONS = bits(3, 4, 5, 6, 7, 8, 10, 11)
export const CLUSTER_AUTHORIZED_OPERATIONS = bits(5, 7, 8, 9, 10, 11, 12)
export const GROUP_AUTHORIZED_OPERATIONS = bits(3, 6, 8)
