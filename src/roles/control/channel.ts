// The agent port: WebSocket (CHANNEL_PATH) over mutual TLS with `node-` certificates. The node is
// who its certificate says; one live connection per node. Control pushes to every agent that has
// said hello whenever the hub announces a change (fan-out.ts).
import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import { controlMetrics } from '../../metrics/registry.js';
import { asNodeId, type NodeId } from '../../model/ids.js';
import { CHANNEL_PATH, type ControlMessage } from '../../protocol/channel.js';
import { parseAgentMessage } from '../../protocol/channel-messages.js';
import { peerIdentity } from '../../tls/options.js';
import type { ControlHub } from './hub.js';
import { FanOut } from './fan-out.js';

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

interface Agent {
  readonly ws: WebSocket;
  readonly node: NodeId;
  greeted: boolean;
  /** The generation of the view this agent holds (after the sends queued to it). */
  at?: number;
}

function remoteHost(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class AgentChannel {
  private readonly wss: WebSocketServer;
  private readonly agents = new Map<NodeId, Agent>();
  private readonly pinger: NodeJS.Timeout;
  private readonly fanOut: FanOut;
  private readonly unregisterMetrics: () => void;

  constructor(server: Server, private readonly hub: ControlHub, private readonly log: Logger, pingMs = Math.min(30_000, hub.nodeTimeoutMs / 3, hub.unreachableAfterMs / 3)) {
    this.unregisterMetrics = controlMetrics().agentsConnected.set(() => {
      let n = 0;
      for (const a of this.agents.values()) if (a.greeted) n++;
      return n;
    });
    this.wss = new WebSocketServer({ server, path: CHANNEL_PATH, maxPayload: MAX_MESSAGE_BYTES });
    this.wss.on('connection', (ws, req) => this.accept(ws, req));
    this.wss.on('error', (e) => log.error({ err: e }, 'agent channel error'));
    this.fanOut = new FanOut(hub, () => this.agents.values(), (r, backlog) => {
      const a = r as Agent;
      log.warn({ node: a.node, backlog_bytes: backlog }, 'agent too far behind on the channel; dropping it (it gets a fresh snapshot when it reconnects)');
      a.ws.terminate();
    });
    // Pongs prove an idle agent alive, so only a truly silent one times out.
    this.pinger = setInterval(() => {
      for (const a of this.agents.values()) if (a.ws.readyState === WebSocket.OPEN) a.ws.ping();
    }, pingMs);
    this.pinger.unref();
  }

  /** Forget nodes silent past the timeout and drop their (dead) connections. */
  expireSilentNodes(): void {
    for (const node of this.hub.expireNodes()) {
      const a = this.agents.get(node);
      if (a) {
        this.log.warn({ node }, 'agent silent too long; dropping it');
        this.agents.delete(node);
        a.ws.terminate();
      }
    }
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const id = peerIdentity(req.socket as TLSSocket);
    const host = remoteHost(req);
    if (!id?.nodeUuid) {
      ws.close(1008, 'a node certificate is required');
      return;
    }
    const node = asNodeId(id.nodeUuid);
    const existing = this.agents.get(node);
    if (existing && existing.ws.readyState === WebSocket.OPEN) {
      const refusal: ControlMessage = { type: 'refused', reason: `node ${node} is already connected; another agent is using this node certificate` };
      this.log.warn({ node, host }, 'refused a second connection for a connected node');
      ws.send(JSON.stringify(refusal), () => ws.close(1008, 'node already connected'));
      return;
    }
    const agent: Agent = { ws, node, greeted: false };
    this.agents.set(node, agent);
    this.log.info({ node, host }, 'agent connected');
    // A connection that never says hello would hold the node's slot and refuse the real agent.
    const helloTimer = setTimeout(() => {
      if (agent.greeted) return;
      this.log.warn({ node, host }, 'agent sent no hello in time; closing');
      ws.terminate();
    }, Math.min(30_000, this.hub.nodeTimeoutMs));
    helloTimer.unref();
    ws.on('pong', () => this.hub.agentSeen(node));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.hub.agentSeen(node);
      const parsed = parseAgentMessage(data.toString());
      if (!parsed.ok) {
        this.log.warn({ node, problem: parsed.problem }, 'ignored a bad message from an agent');
        return;
      }
      const m = parsed.message;
      switch (m.type) {
        case 'hello':
          agent.greeted = true;
          // What the agent says it is reached at wins: behind NAT or a bridge the peer address
          // seen here may be no address the other nodes can use.
          this.hub.agentHello(node, m.era, m.address ?? host, m.transferPort, m.name);
          break;
        case 'report':
          if (agent.greeted) this.hub.agentReport(node, m.report);
          else this.log.warn({ node }, 'report before hello ignored');
          break;
        case 'resync':
          if (agent.greeted) this.fanOut.resync(agent);
          break;
      }
    });
    ws.on('error', (e) => this.log.warn({ node, err: e.message }, 'agent connection error'));
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (this.agents.get(node) !== agent) return;
      this.agents.delete(node);
      this.log.info({ node }, 'agent disconnected');
      this.hub.agentDisconnected(node);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.unregisterMetrics();
    this.fanOut.close();
    for (const a of this.agents.values()) a.ws.terminate();
    this.agents.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}
