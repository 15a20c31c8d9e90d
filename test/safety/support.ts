// Shared by the safety end-to-end tests: run the operator CLI against a test bed, and the steps
// every scenario starts with (a control service, agents, datasets holding known data).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestBed } from '../agent/harness.js';
import { ROOT } from '../agent/harness.js';
import type { LsRow } from '../../src/cli/format/datasets.js';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Where a test bed's REST API is (any bed: shared pool or p2p hosts). */
export interface ApiTarget {
  readonly apiPort: number;
  /** Default 127.0.0.1. */
  readonly apiHost?: string;
  readonly certs: { readonly dir: string };
}

/** `flocker ARGS` as an operator would run it, connected to the bed's control service. */
export function cli(bed: ApiTarget, args: string[]): Promise<CliResult> {
  const bin = process.env.FLOCKER_BIN;
  const conn = ['--control-service', bed.apiHost ?? '127.0.0.1', '--control-port', String(bed.apiPort), '--certs-path', bed.certs.dir];
  const [cmd, argv] = bin ? [bin, [...args, ...conn]] : [process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), ...args, ...conn]];
  return new Promise((resolve) => {
    execFile(cmd, argv, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 }, (e, out, err) => {
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, out: String(out), err: String(err) });
    });
  });
}

export async function cliJson<T>(bed: ApiTarget, args: string[]): Promise<T> {
  const r = await cli(bed, [...args, '--json']);
  if (r.code !== 0) throw new Error(`flocker ${args.join(' ')} failed (${r.code}): ${r.err}`);
  return JSON.parse(r.out) as T;
}

/** What `flocker ls` says that must survive losing the database, in a stable order. */
export const comparable = (rows: LsRow[]) => rows
  .map((r) => ({ id: r.dataset_id, size: r.maximum_size, metadata: r.metadata, primary: r.primary, status: r.status }))
  .sort((a, b) => a.id.localeCompare(b.id));

export interface Placed {
  readonly id: string;
  readonly node: number;
  readonly content: string;
}

export function dataFile(bed: TestBed, node: number, id: string): string {
  return join(bed.nodes[node]!.mountRoot, id, 'data.txt');
}

/** Create one dataset per entry of `nodes` (index of its node), wait until each is mounted, and write data into it. */
export async function placeDatasets(bed: TestBed, nodes: number[]): Promise<Placed[]> {
  const placed: Placed[] = [];
  for (const [i, node] of nodes.entries()) {
    const d = await bed.client.createDataset({ primary: bed.nodes[node]!.uuid, maximum_size: 67108864, metadata: { name: `safety-${i}`, tier: 'db' } });
    placed.push({ id: d.dataset_id, node, content: `dataset ${i} ${d.dataset_id} ${Math.random()}\n` });
  }
  await bed.until('every dataset mounted where it was created', async () => {
    const state = await bed.client.stateDatasets();
    return placed.every((p) => state.some((s) => s.dataset_id === p.id && s.primary === bed.nodes[p.node]!.uuid));
  }, 120_000);
  for (const p of placed) writeFileSync(dataFile(bed, p.node, p.id), p.content);
  return placed;
}

/** Every dataset still exposed where it was, with the same data. */
export function assertDataIntact(bed: TestBed, placed: readonly Placed[]): void {
  for (const p of placed) {
    const text = readFileSync(dataFile(bed, p.node, p.id), 'utf8');
    if (text !== p.content) throw new Error(`dataset ${p.id} on node ${p.node}: expected ${JSON.stringify(p.content)}, found ${JSON.stringify(text)}`);
  }
}

export interface ConvergingLine { msg?: string; actions?: { kind: string; datasetId: string }[] }

/** The 'converging' lines of an agent's log, in order: what it set out to do on each pass. */
export function convergingLines(log: string): ConvergingLine[] {
  return log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ConvergingLine).filter((l) => l.msg === 'converging');
}
