// Moved to test/support/agent-socket.ts; this stays only until replicas.test.ts (owned by another
// change in flight) imports it from there, then goes.
export { connectAgentSocket, type AgentSocket } from '../support/agent-socket.js';
