// btrfs-progs, typed: make a filesystem, manage subvolumes and snapshots, send and receive
// snapshot streams, and read free space. Thin on purpose: policy lives in backends/p2p/pool.ts.
import { open, statfs } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { run, runToStream } from './run.js';

const BTRFS_SUPER_MAGIC = 0x9123683e;

/** True if `path` lives on a btrfs filesystem. */
export async function isBtrfs(path: string): Promise<boolean> {
  return (await statfs(path)).type === BTRFS_SUPER_MAGIC;
}

export async function mkfsBtrfs(device: string, opts: { readonly label?: string } = {}): Promise<void> {
  await run('mkfs.btrfs', ['-q', '-f', ...(opts.label ? ['-L', opts.label] : []), device]);
}

export async function subvolumeCreate(path: string): Promise<void> {
  await run('btrfs', ['subvolume', 'create', path]);
}

export async function subvolumeDelete(path: string): Promise<void> {
  await run('btrfs', ['subvolume', 'delete', path]);
}

/** `btrfs subvolume snapshot [-r] source dest`: read-only snapshots are what send needs. */
export async function snapshot(source: string, dest: string, opts: { readonly readOnly: boolean }): Promise<void> {
  await run('btrfs', ['subvolume', 'snapshot', ...(opts.readOnly ? ['-r'] : []), source, dest]);
}

export interface SubvolumeEntry {
  readonly id: number;
  /** Relative to the filesystem's top level. */
  readonly path: string;
}

/** Every subvolume of the filesystem holding `path`. */
export async function subvolumeList(path: string): Promise<SubvolumeEntry[]> {
  const out = await run('btrfs', ['subvolume', 'list', path]);
  return parseSubvolumeList(out);
}

export function parseSubvolumeList(out: string): SubvolumeEntry[] {
  const rows: SubvolumeEntry[] = [];
  for (const line of out.split('\n')) {
    const m = /^ID (\d+) gen \d+ top level \d+ path (.+)$/.exec(line);
    if (m) rows.push({ id: Number(m[1]), path: m[2] as string });
  }
  return rows;
}

export interface SubvolumeInfo {
  readonly name: string;
  readonly uuid: string;
  /** The subvolume this one is a snapshot of, or null. */
  readonly parentUuid: string | null;
  /** Set by `btrfs receive` once a stream was received completely; null otherwise. */
  readonly receivedUuid: string | null;
  readonly readOnly: boolean;
}

export async function subvolumeShow(path: string): Promise<SubvolumeInfo> {
  return parseSubvolumeShow(await run('btrfs', ['subvolume', 'show', path]));
}

export function parseSubvolumeShow(out: string): SubvolumeInfo {
  const field = (name: string): string | null => {
    const m = new RegExp(`^\\s*${name.replace(/[()]/g, '\\$&')}:\\s*(.*)$`, 'm').exec(out);
    const v = m?.[1]?.trim();
    return v === undefined || v === '' || v === '-' ? null : v;
  };
  return {
    name: field('Name') ?? '',
    uuid: field('UUID') ?? '',
    parentUuid: field('Parent UUID'),
    receivedUuid: field('Received UUID'),
    readOnly: /\breadonly\b/.test(field('Flags') ?? ''),
  };
}

export interface SendOptions {
  /** Incremental: send only what differs from this read-only snapshot (present on the receiver). */
  readonly parent?: string | null;
  readonly signal?: AbortSignal;
}

/** `btrfs send [-p parent] snapshot` into a file (written by btrfs itself). */
export async function sendToFile(snapshotPath: string, file: string, opts: SendOptions = {}): Promise<void> {
  await run('btrfs', ['send', '-q', ...parentArgs(opts), '-f', file, snapshotPath], { timeoutMs: 0, ...signalOpt(opts) });
}

/** `btrfs send [-p parent] snapshot` into a stream (ended when the send is complete). */
export async function sendToStream(snapshotPath: string, out: Writable, opts: SendOptions = {}): Promise<void> {
  await runToStream('btrfs', ['send', '-q', ...parentArgs(opts), snapshotPath], out, signalOpt(opts));
}

function parentArgs(opts: SendOptions): string[] {
  return opts.parent ? ['-p', opts.parent] : [];
}

function signalOpt(opts: { readonly signal?: AbortSignal | undefined }): { signal?: AbortSignal } {
  return opts.signal ? { signal: opts.signal } : {};
}

/** `btrfs receive -f file dir`: the received snapshot appears as dir/<name sent>. */
export async function receiveFromFile(file: string, dir: string, opts: { readonly signal?: AbortSignal } = {}): Promise<void> {
  await run('btrfs', ['receive', '-q', '-f', file, dir], { timeoutMs: 0, ...signalOpt(opts) });
}

export interface StreamHead {
  /** The name the snapshot was sent as: `btrfs receive` creates dir/<name>. */
  readonly name: string;
  /** incremental: the stream needs its parent snapshot on the receiver. */
  readonly incremental: boolean;
}

const STREAM_MAGIC = Buffer.from('btrfs-stream\0', 'latin1');
const CMD_SUBVOL = 1;
const CMD_SNAPSHOT = 2;
const ATTR_PATH = 15;

/**
 * Reads the first command of a send stream (format: magic, u32 version, then commands of
 * u32 length, u16 type, u32 crc and TLV attributes, all little-endian). Knowing the name before
 * receiving lets the pool tell a finished receive from a half-done one of the same snapshot.
 */
export function parseStreamHead(buf: Buffer): StreamHead {
  if (buf.length < 17 || !buf.subarray(0, 13).equals(STREAM_MAGIC)) throw new Error('not a btrfs send stream (bad magic)');
  const len = buf.readUInt32LE(17);
  const cmd = buf.readUInt16LE(21);
  if (cmd !== CMD_SUBVOL && cmd !== CMD_SNAPSHOT) throw new Error(`btrfs send stream does not start with a subvolume (command ${cmd})`);
  const end = 27 + len;
  if (buf.length < end) throw new Error('btrfs send stream is truncated in its first command');
  for (let at = 27; at + 4 <= end; ) {
    const type = buf.readUInt16LE(at);
    const size = buf.readUInt16LE(at + 2);
    if (type === ATTR_PATH) return { name: buf.toString('utf8', at + 4, at + 4 + size), incremental: cmd === CMD_SNAPSHOT };
    at += 4 + size;
  }
  throw new Error('btrfs send stream names no subvolume');
}

/** The head of a stream file (its first 4 KiB hold the first command many times over). */
export async function readStreamHead(file: string): Promise<StreamHead> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseStreamHead(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export interface Usage {
  readonly deviceSize: number;
  readonly used: number;
  /** btrfs's own estimate of what new data still fits (accounts for metadata profiles). */
  readonly freeEstimated: number;
}

export async function filesystemUsage(path: string): Promise<Usage> {
  return parseUsage(await run('btrfs', ['filesystem', 'usage', '-b', path]));
}

export function parseUsage(out: string): Usage {
  const num = (label: string): number => {
    const m = new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}:\\s*(\\d+)`, 'm').exec(out);
    if (!m) throw new Error(`btrfs filesystem usage printed no "${label}"`);
    return Number(m[1]);
  };
  return { deviceSize: num('Device size'), used: num('Used'), freeEstimated: num('Free (estimated)') };
}
