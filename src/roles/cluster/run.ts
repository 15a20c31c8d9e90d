// `flocker cluster up` from start to finish: start the cluster, show it (dashboard or text
// log), and stop it cleanly on Ctrl-C/SIGTERM, on the dashboard quitting, or when a child dies.
import type { ControlClient } from '../../client/types.js';
import { errorMessage } from '../../errors.js';
import { followCluster } from '../../client/follow.js';
import { advance, EMPTY_HISTORY } from '../../client/history.js';
import { statusLine } from './status-line.js';
import { describeDeath, Interrupted, startLocalCluster, type LocalCluster, type UpOptions } from './up.js';
import { loadDashboard } from '../../ui/load.js';

export interface RunIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Show the Ink dashboard (stdout is a terminal and --no-dashboard was not given). */
  readonly dashboard: boolean;
  /** Stop when our parent process goes away (tests: a killed test file must not leak a cluster). */
  readonly exitWithParent?: boolean;
}

type Ending = { kind: 'signal'; signal: string } | { kind: 'death'; line: string } | { kind: 'dashboard-quit' };

const stamp = (): string => new Date().toISOString().slice(11, 19);

/** Follow the event stream and print what changes (the dashboard's log, every phase); until `signal` aborts. */
async function followEvents(client: ControlClient, out: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  let history = EMPTY_HISTORY;
  let lostSince = false;
  let lastStatus = '';
  for await (const u of followCluster(client, { signal })) {
    if (u.kind === 'lost') {
      // Once per outage, not once per retry.
      if (!lostSince) out.write(`[${stamp()}] event stream from ${u.address} lost (${u.reason}); reconnecting\n`);
      lostSince = true;
      continue;
    }
    lostSince = false;
    // The server's clock, once a second: nothing to print.
    if (u.event.type === 'tick') continue;
    const step = advance(history, u.before, u.snapshot, Date.now(), { everyPhase: true }, u.changed);
    history = step.history;
    for (const l of step.added) out.write(`[${stamp()}] ${l.text}\n`);
    const status = statusLine(u.snapshot, history.convergence);
    if (status !== lastStatus) out.write(`[${stamp()}] ${status}\n`);
    lastStatus = status;
  }
}

async function showDashboard(client: ControlClient, stdout: NodeJS.WriteStream): Promise<void> {
  const { runDashboard } = await loadDashboard(stdout);
  await runDashboard({ client, stdout, title: 'flocker cluster up — q to stop the cluster' });
}

/** Hand the terminal back before we print the shutdown. */
async function closeDashboard(stdout: NodeJS.WriteStream): Promise<void> {
  (await loadDashboard(stdout)).closeDashboard(stdout);
}

export async function runClusterUp(opts: Omit<UpOptions, 'signal'>, io: RunIo): Promise<number> {
  // Whoever reads our output may be gone (a killed test, a closed pipe); the cleanup must still run.
  const ignore = (): void => undefined;
  io.stdout.on('error', ignore);
  io.stderr.on('error', ignore);
  const say = (l: string): void => { io.stdout.write(`cluster up: ${l}\n`); };
  const startAbort = new AbortController();
  let resolveEnding!: (e: Ending) => void;
  const ending = new Promise<Ending>((r) => { resolveEnding = r; });
  const onSignal = (signal: NodeJS.Signals): void => {
    startAbort.abort();
    resolveEnding({ kind: 'signal', signal });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal); // the terminal closed: still stop the cluster, not just us
  // A second Ctrl-C while stopping must not kill us before the cleanup is done; it is ignored.
  const parent = process.ppid;
  const orphanWatch = io.exitWithParent
    ? setInterval(() => { if (process.ppid !== parent) onSignal('SIGHUP'); }, 500)
    : undefined;

  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({ ...opts, signal: startAbort.signal }, say);
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    clearInterval(orphanWatch);
    if (e instanceof Interrupted) {
      say('interrupted while starting; everything started was stopped');
      return 0;
    }
    throw e;
  }
  void cluster.unexpectedExit.then((d) => resolveEnding({ kind: 'death', line: describeDeath(d) }));

  const viewAbort = new AbortController();
  const client = cluster.client as ControlClient;
  let dashboardDone: Promise<void> | undefined;
  const tty = io.stdout as NodeJS.WriteStream;
  if (io.dashboard) {
    dashboardDone = showDashboard(client, tty).then(
      () => resolveEnding({ kind: 'dashboard-quit' }),
      (e: unknown) => {
        dashboardDone = undefined;
        say(`dashboard failed (${errorMessage(e)}); printing a log instead`);
        void followEvents(client, io.stdout, viewAbort.signal);
      },
    );
  } else {
    say('following the cluster (Ctrl-C stops it)');
    void followEvents(client, io.stdout, viewAbort.signal);
  }

  const end = await ending;
  viewAbort.abort();
  if (dashboardDone && end.kind !== 'dashboard-quit') {
    await closeDashboard(tty).catch(() => undefined);
    await Promise.race([dashboardDone, new Promise((r) => setTimeout(r, 2000))]);
  }
  if (end.kind === 'death') io.stderr.write(`flocker: cluster up: ${end.line}\n`);
  say(end.kind === 'signal' ? `${end.signal}: stopping plugins, agents and control` : 'stopping plugins, agents and control');
  const report = await cluster.stop();
  if (report.unmounted.length + report.detached.length > 0) {
    say(`unmounted ${report.unmounted.length} dataset(s), detached ${report.detached.length} loop device(s)`);
  }
  for (const p of report.problems) io.stderr.write(`flocker: cluster up: cleanup: ${p}\n`);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  clearInterval(orphanWatch);
  say('stopped');
  return end.kind === 'death' || report.problems.length > 0 ? 1 : 0;
}
