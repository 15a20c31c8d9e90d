export const VERSION = '0.1.0';
/** What GET /v1/version reports: the original release we are wire-compatible with. */
export const FLOCKER_API_VERSION = '1.15.0';
