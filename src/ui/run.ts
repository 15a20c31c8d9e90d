// Entry point of the dashboard (loaded lazily: only this module pulls in Ink and React).
import { createElement } from 'react';
import { Box, render, renderToString, Text } from 'ink';
import type { ControlClient } from '../client/types.js';
import { applyEvent, type ClusterSnapshot } from '../protocol/events.js';
import { UserError } from '../errors.js';
import Dashboard from './Dashboard.js';
import DashboardView from './DashboardView.js';
import { advanceHistory, EMPTY_HISTORY } from '../client/history.js';
import { INITIAL_UI } from './interaction.js';
import { buildViewModel } from './view-model.js';

export interface DashboardOptions {
  client: ControlClient;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  /** Print one plain-text snapshot and return. */
  once?: boolean;
  /** With once: print the snapshot and its counts as JSON instead of text. */
  json?: boolean;
  title?: string;
}

const FIRST_SNAPSHOT_TIMEOUT_MS = 15_000;

export async function runDashboard(o: DashboardOptions): Promise<number> {
  const stdout = o.stdout ?? process.stdout;
  const stdin = o.stdin ?? process.stdin;
  const title = o.title ?? 'flocker';
  if (o.once || o.json) {
    const snap = await firstSnapshot(o.client);
    if (o.json) {
      const vm = buildViewModel(snap, Date.now(), EMPTY_HISTORY);
      stdout.write(`${JSON.stringify({ summary: vm.summary, counts: vm.counts, snapshot: snap }, null, 2)}\n`);
      return 0;
    }
    stdout.write(`${snapshotText(snap, title, stdout.columns || 100)}\n`);
    return 0;
  }
  if (!stdout.isTTY) {
    throw new UserError('the live dashboard needs a terminal (stdout is not a TTY); use --once for a plain-text snapshot', 2);
  }
  // A pty opened without a size reports 0 columns, and Ink would wrap one character per line.
  if (!stdout.columns) Object.defineProperty(stdout, 'columns', { value: 80, configurable: true });
  if (!stdout.rows) Object.defineProperty(stdout, 'rows', { value: 24, configurable: true });
  const app = render(createElement(Dashboard, { client: o.client, title }), {
    stdout, stdin, exitOnCtrlC: true, patchConsole: false, maxFps: 10,
  });
  await app.waitUntilExit();
  return 0;
}

/**
 * End the dashboard when its owner stops for another reason (a signal, a dead child): Ink keeps
 * one instance per stdout, and render() on the same stdout reaches it, so unmounting that hands
 * the terminal back (raw mode off, cursor shown).
 */
export function closeDashboard(stdout: NodeJS.WriteStream): void {
  render(createElement(Text, null, ''), { stdout, patchConsole: false }).unmount();
}

/** `flocker doctor`: a bordered frame drawn through Ink and yoga, as plain text. */
export function renderCheckFrame(text: string, columns: number): string {
  return renderToString(createElement(Box, { borderStyle: 'round', paddingX: 1 }, createElement(Text, null, text)), { columns });
}

/** The dashboard's first screen as plain text, for scripts and non-terminals. */
export function snapshotText(snap: ClusterSnapshot, title: string, columns: number, now = Date.now()): string {
  const history = advanceHistory(EMPTY_HISTORY, undefined, snap, now);
  const vm = buildViewModel(snap, now, history);
  // Every row: a snapshot is read once, not scrolled.
  const layout = { nodeRows: vm.nodes.length, datasetRows: vm.datasets.length, logRows: 0, showLeases: vm.leases.length > 0 };
  const height = 3 + vm.nodes.length + Math.max(1, vm.datasets.length) + (layout.showLeases ? 1 : 0);
  return renderToString(createElement(DashboardView, {
    title, vm, ui: INITIAL_UI, status: { kind: 'live' }, now, columns, height, layout, top: 0, footer: false,
  }), { columns }).replace(/[ \t]+$/gm, '').trimEnd();
}

async function firstSnapshot(client: ControlClient): Promise<ClusterSnapshot> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FIRST_SNAPSHOT_TIMEOUT_MS);
  try {
    let snap: ClusterSnapshot | undefined;
    for await (const e of client.events(abort.signal)) {
      snap = applyEvent(snap, e);
      if (snap) return snap;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  throw new UserError('the control service closed the event stream before sending a snapshot');
}
