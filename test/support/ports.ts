// Tests take free ports the way `cluster up` does.
export { freeTcpPort as freePort } from '../../src/sys/ports.js';
