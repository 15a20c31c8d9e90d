// Composition root of `flocker agent`: the only place that builds real I/O for the agent.
// config → node identity (node.crt) → backend → channel client → convergence loop.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageBackend } from '../../backends/backend.js';
import { createBackend } from '../../backends/index.js';
import type { AgentConfig } from '../../config/agent-config.js';
import { ConvergenceLoop, systemClock } from '../../converge/loop.js';
import { execute } from '../../converge/execute.js';
import type { Action } from '../../converge/changes.js';
import { errorMessage, UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { agentMetrics } from '../../metrics/registry.js';
import { startMetricsServer } from '../../metrics/server.js';
import { asNodeId, type NodeId } from '../../model/ids.js';
import { readNodeUuid } from '../../tls/identity.js';
import { poolFenceTokens } from '../../backends/fence-tokens.js';
import { poolManifests } from '../../backends/manifests.js';
import { fenceCheck } from './fencing.js';
import { loadActedOn } from './acted-on.js';
import { ManifestKeeper } from './manifests.js';
import { ChannelClient } from './channel-client.js';
import { discoverLocal } from './discover.js';
import { nodeTlsMaterial } from './tls.js';
import { clientTlsOptions } from '../../tls/options.js';
import { PoolMover } from './mover.js';
import { P2PBackend } from '../../backends/p2p/backend.js';
import { DEFAULT_TRANSFER } from '../../config/agent-config.js';
import { TransferServer } from '../../transfer/server.js';
import { timedBackend } from './timed-backend.js';

export interface AgentRunOptions {
  readonly log: Logger;
  /** Stops the agent cleanly: the current pass finishes, mounts stay unless unmountOnExit. */
  readonly signal: AbortSignal;
  /** For `flocker cluster up`: on stop, unmount and detach everything this node holds (data kept). */
  readonly unmountOnExit?: boolean;
  /** Called once the agent is connected and has its first configuration (for tests and logs). */
  readonly onReady?: (nodeId: NodeId) => void;
}

/**
 * Test only (`npm run torture`): with FLOCKER_TEST_CRASH_AFTER_EACH_ACTION=1 the agent kills itself
 * (SIGKILL, no cleanup) right after every action, to prove each step of a move survives a crash.
 */
function crashHook(log: Logger): { after?: (a: Action) => void } {
  if (process.env.FLOCKER_TEST_CRASH_AFTER_EACH_ACTION !== '1') return {};
  return {
    after: (a) => {
      log.warn({ action: a.kind, dataset: a.datasetId }, 'crashing after the action (FLOCKER_TEST_CRASH_AFTER_EACH_ACTION)');
      process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** Kernel boot id: a new era on every reboot, so control drops what we said before it. */
export async function readEra(): Promise<string> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch {
    return randomUUID();
  }
}

/** Startup checks with one clear line each: the pool must exist and be writable. */
export async function checkPool(config: AgentConfig): Promise<void> {
  const pool = config.dataset.rootPath;
  const where = `(dataset.root_path in ${config.file})`;
  // A p2p pool is this host's own: make its folder as the original made its ZFS pool's mount point.
  if (config.dataset.backend === 'p2p') await mkdir(pool, { recursive: true }).catch(() => undefined);
  try {
    if (!(await stat(pool)).isDirectory()) throw new UserError(`storage pool ${pool} is not a directory ${where}`);
    await access(pool, constants.W_OK | constants.X_OK);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`storage pool ${pool} does not exist ${where}; create it or point root_path elsewhere`);
    if (code === 'EACCES' || code === 'EROFS') throw new UserError(`storage pool ${pool} is not writable by this user ${where}`);
    throw new UserError(`storage pool ${pool} is unusable ${where}: ${errorMessage(e)}`);
  }
}

export async function runAgent(config: AgentConfig, o: AgentRunOptions): Promise<void> {
  const certs = config.certificatesDir;
  const hint = `set certificates-dir in ${config.file}`;
  const nodeId = asNodeId(readNodeUuid(join(certs, 'node.crt')));
  const material = nodeTlsMaterial(certs, hint);
  const tls = clientTlsOptions(material);
  await checkPool(config);
  const raw = createBackend(config.dataset, nodeId);
  const pool = raw instanceof P2PBackend ? raw.pool : undefined;
  const backend = timedBackend(raw);
  try {
    await backend.listVolumes();
    await mkdir(config.dataset.mountRoot, { recursive: true });
  } catch (e) {
    throw new UserError(`the ${backend.name} backend cannot use its storage (${config.file}): ${errorMessage(e)}`);
  }
  const log = o.log.child({ node: nodeId });
  const era = await readEra();
  const metricsServer = config.metricsListen ? await startMetricsServer(config.metricsListen, log) : undefined;
  const { loopIterations } = agentMetrics();
  const actedOn = await loadActedOn(config.stateDir);
  // Shared pools keep manifests and fencing tokens beside the volumes; a p2p pool keeps each manifest
  // inside its dataset's copy, and needs no fencing token: nobody else can reach that copy.
  const manifests = new ManifestKeeper(pool ? pool.manifests : poolManifests(config.dataset.rootPath), nodeId, log, pool !== undefined);
  const fences = pool ? undefined : poolFenceTokens(config.dataset.rootPath);

  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  let refused: string | undefined;
  // p2p: peers pull data from this node; start serving before control tells them we exist.
  const transferConfig = config.dataset.transfer ?? DEFAULT_TRANSFER;
  const transfers = pool
    ? await TransferServer.start({ pool, tls: material, port: transferConfig.port, listen: transferConfig.listen, log })
    : undefined;

  // Declared before the channel so its callbacks can reach it; they fire only after start().
  let loop: ConvergenceLoop | undefined;
  const channel = new ChannelClient({
    host: config.controlService.hostname, port: config.controlService.port, tls, era, name: config.name, log,
    fallbacks: config.controlServices.slice(1).map((a) => ({ host: a.hostname, port: a.port })),
    ...(transfers ? { transferPort: transfers.port } : {}),
    // Transfers bound to one address are reached there; otherwise at our end of the route to control.
    ...(transfers && !['0.0.0.0', '::'].includes(transferConfig.listen) ? { address: transferConfig.listen } : {}),
    onCluster: () => loop?.onInputs(),
    onRefused: (reason) => {
      refused = reason;
      stop.abort();
    },
  });
  const mover = pool
    ? new PoolMover({ pool, backend, tls: material, log, signal: stop.signal, onProgress: (id, p) => loop?.onTransferProgress(id, p) })
    : undefined;
  loop = new ConvergenceLoop({
    nodeId, mountRoot: config.dataset.mountRoot, allocationUnit: backend.allocationUnit(), needsFilesystem: backend.needsFilesystem,
    volumeIdFor: (id) => backend.volumeIdFor(id),
    peerToPeer: pool !== undefined,
    onPass: () => loopIterations.inc(),
    discover: async () => {
      const local = await discoverLocal(backend, config.dataset.mountRoot, pool);
      await manifests.refresh(local, channel.inputs()?.configuration);
      return local;
    },
    report: (r) => channel.setReport(manifests.decorate(r)),
    inputs: () => channel.inputs(),
    execute: (c) => execute(c, backend, mover, {
      ...(fences ? { before: fenceCheck(fences, nodeId, () => channel.inputs()?.configuration) } : {}),
      ...crashHook(log),
    }),
    clock: systemClock, log, random: Math.random, era, actedOn,
  });
  log.info({ control: channel.url, backend: backend.name, pool: config.dataset.rootPath, mountRoot: config.dataset.mountRoot }, 'agent starting');
  channel.start();
  void channel.firstPush.then(() => {
    log.info('received the configuration; converging');
    o.onReady?.(nodeId);
  });
  try {
    await loop.run(stop.signal);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    channel.stop();
    await transfers?.close();
    await metricsServer?.close();
    if (o.unmountOnExit) await releaseLocalStorage(backend, config.dataset.mountRoot, log);
    log.info('agent stopped');
  }
  if (refused !== undefined) throw new UserError(`the control service refused this agent: ${refused}`);
}

/**
 * Unmount and detach everything this node holds; the data stays in the pool. For `cluster up`
 * shutdown, so a local cluster leaves no mounts or loop devices behind. Never destroys.
 */
export async function releaseLocalStorage(backend: StorageBackend, mountRoot: string, log: Logger): Promise<void> {
  let local;
  try {
    local = await discoverLocal(backend, mountRoot);
  } catch (e) {
    log.warn({ err: errorMessage(e) }, 'could not list local storage to release it');
    return;
  }
  const attempt = async (what: string, f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (e) {
      log.warn({ err: errorMessage(e) }, `${what} failed on exit`);
    }
  };
  for (const s of local.strayMounts) await attempt(`unmount ${s.mountPoint}`, () => backend.unmount(s.mountPoint));
  await Promise.all([...local.datasets.values()].map(async (d) => {
    if (d.kind === 'mounted') await attempt(`unmount ${d.mountPoint}`, () => backend.unmount(d.mountPoint));
    if (d.kind === 'mounted' || d.kind === 'attached' || d.kind === 'attached-no-filesystem') {
      await attempt(`detach ${d.volumeId}`, () => backend.detachVolume(d.volumeId));
    }
  }));
}
