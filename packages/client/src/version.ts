/** Sent in ApiVersions v3+ (`ClientSoftwareName`/`ClientSoftwareVersion`, KIP-511). */
export const CLIENT_SOFTWARE_NAME = 'samsa-client'
export const CLIENT_SOFTWARE_VERSION = '0.1.0'
