// The one Prometheus registry of a flocker process and every metric the roles record. Roles only
// record (observe, inc, or hand over a function read at scrape time); the /metrics server in
// server.ts is the only reader. Recording is a few arithmetic operations in memory, so it is done
// whether or not --metrics-listen is given: off by default means no listener, not no counting.
//
// Metrics are made on first use and live for the process: tests start several roles in one
// process, and prom-client refuses to register a name twice.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

/** Request and action latencies: 1 ms (a cached GET) to 2 min (a slow mkfs or a long transfer). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

/**
 * A value read when Prometheus scrapes. Several sources may be live in one process (tests run
 * more than one control service); the last registered one answers, and each can unregister.
 */
class Source<T> {
  private readonly stack: (() => T)[] = [];

  set(read: () => T): () => void {
    this.stack.push(read);
    return () => {
      const i = this.stack.lastIndexOf(read);
      if (i >= 0) this.stack.splice(i, 1);
    };
  }

  read(): T | undefined {
    const f = this.stack[this.stack.length - 1];
    return f?.();
  }
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export const controlMetrics = once(() => {
  const agentsConnected = new Source<number>();
  const datasetsByPhase = new Source<ReadonlyMap<string, number>>();
  return {
    apiRequestDuration: new Histogram({
      name: 'flocker_control_api_request_duration_seconds',
      help: 'REST API requests by route pattern, method and status code',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    agentsConnected,
    agentsConnectedGauge: new Gauge({
      name: 'flocker_control_agents_connected',
      help: 'Agents connected to the agent channel that have said hello',
      registers: [registry],
      collect() {
        this.set(agentsConnected.read() ?? 0);
      },
    }),
    configPushDuration: new Histogram({
      name: 'flocker_control_config_push_duration_seconds',
      help: 'From a change being announced to its push written to every connected agent',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    configPushes: new Counter({
      name: 'flocker_control_config_pushes_total',
      help: 'Messages pushed to agents: kind=delta (what changed) or snapshot (everything, on connect or resync)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    configPushBytes: new Counter({
      name: 'flocker_control_config_push_bytes_total',
      help: 'Bytes of configuration pushed to agents, by kind (delta or snapshot)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    storeWriteDuration: new Histogram({
      name: 'flocker_control_store_write_duration_seconds',
      help: 'Writing one group of configuration changes to the store (one transaction)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    datasetsByPhase,
    datasetsGauge: new Gauge({
      name: 'flocker_control_datasets',
      help: 'Datasets by convergence phase (as GET /v1/convergence reports them)',
      labelNames: ['phase'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [phase, n] of datasetsByPhase.read() ?? []) this.set({ phase }, n);
      },
    }),
  };
});

export const agentMetrics = once(() => {
  const lastReportAt = new Source<number | undefined>();
  return {
    actionDuration: new Histogram({
      name: 'flocker_agent_action_duration_seconds',
      help: 'Storage backend operations by kind, backend and outcome (ok or error)',
      labelNames: ['action', 'backend', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    loopIterations: new Counter({
      name: 'flocker_agent_loop_iterations_total',
      help: 'Convergence loop passes (discover, report, plan, execute)',
      registers: [registry],
    }),
    lastReportAt,
    lastReportAge: new Gauge({
      name: 'flocker_agent_last_report_age_seconds',
      help: 'Seconds since the control service last had this agent\'s current report (-1: never)',
      registers: [registry],
      collect() {
        const at = lastReportAt.read();
        this.set(at === undefined ? -1 : (Date.now() - at) / 1000);
      },
    }),
    transferBytes: new Counter({
      name: 'flocker_agent_transfer_bytes_total',
      help: 'Dataset bytes moved between agents, by direction (sent or received)',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    configUpdates: new Counter({
      name: 'flocker_agent_config_updates_total',
      help: 'Pushes received from the control service, by kind (delta, snapshot, or gap: a delta that did not follow and asked for a snapshot)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
});

/** For the transfer layer: count bytes as they are written to or read from a peer. */
export function recordTransferBytes(direction: 'sent' | 'received', bytes: number): void {
  agentMetrics().transferBytes.inc({ direction }, bytes);
}

export const pluginMetrics = once(() => ({
  requestDuration: new Histogram({
    name: 'flocker_plugin_request_duration_seconds',
    help: 'Docker volume plugin requests by endpoint and outcome (ok, error: an Err for Docker, unknown: no such endpoint)',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
}));

/** process_* and nodejs_* metrics; started only when a /metrics listener exists (it samples the event loop). */
export const startProcessMetrics = once(() => {
  collectDefaultMetrics({ register: registry });
  return true;
});

/** Seconds since `start` (a performance.now() reading), for observe(). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
