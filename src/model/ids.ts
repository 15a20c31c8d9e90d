// Branded ids so a node UUID can never be passed where a dataset id is expected.
export type NodeId = string & { readonly __brand: 'NodeId' };
export type DatasetId = string & { readonly __brand: 'DatasetId' };

const HEX = '[0-9a-fA-F]';
/** Any UUID (8-4-4-4-12 hex, either case), unanchored: to build larger patterns from. */
export const UUID_SOURCE = `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`;
/** Flocker's UUIDv4 pattern (types.yml): version nibble 4, variant 8/9/a/b, hex in either case. */
export const UUID_V4_PATTERN = `^${HEX}{8}-${HEX}{4}-4${HEX}{3}-[89abAB]${HEX}{3}-${HEX}{12}$`;
const UUID_V4 = new RegExp(UUID_V4_PATTERN);
const UUID = new RegExp(`^${UUID_SOURCE}$`);

export function isUuidV4(value: string): boolean {
  return UUID_V4.test(value);
}

/** Any version: node certificates name nodes by UUIDs that other tools may have made. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Ids are stored and compared lower-case, as the original does. */
export function asNodeId(value: string): NodeId {
  return value.toLowerCase() as NodeId;
}

export function asDatasetId(value: string): DatasetId {
  return value.toLowerCase() as DatasetId;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export type PrefixResult<T extends string> =
  | { readonly ok: true; readonly id: T }
  | { readonly ok: false; readonly reason: 'no-match' | 'ambiguous'; readonly message: string };

/**
 * Resolve a unique id prefix the way flockerctl does (plain startsWith), with its messages:
 * "no node uuids matching X" / "X is ambiguous node".
 */
export function resolvePrefix<T extends string>(prefix: string, ids: readonly T[], kind: 'node' | 'dataset'): PrefixResult<T> {
  const wanted = prefix.toLowerCase();
  const exact = ids.find((id) => id === wanted);
  if (exact !== undefined) return { ok: true, id: exact };
  const matches = [...new Set(ids.filter((id) => id.startsWith(wanted)))];
  if (matches.length === 1) return { ok: true, id: matches[0] as T };
  if (matches.length === 0) return { ok: false, reason: 'no-match', message: `no ${kind} uuids matching ${prefix}` };
  return { ok: false, reason: 'ambiguous', message: `${prefix} is ambiguous ${kind}` };
}

/** A node as the CLI knows it: its UUID and the name its agent.yml gives (if its agent said one). */
export interface NamedNode {
  readonly uuid: string;
  readonly name?: string;
}

/**
 * `--node`/`--destination`: a node name (case-insensitive) or a unique UUID prefix. A spec that
 * names one node and is the prefix of another, or a name two nodes share, is refused rather
 * than guessed.
 */
export function resolveNode(spec: string, nodes: readonly NamedNode[]): PrefixResult<string> {
  const wanted = spec.toLowerCase();
  const named = nodes.filter((n) => n.name !== undefined && n.name.toLowerCase() === wanted);
  const byId = resolvePrefix(spec, nodes.map((n) => n.uuid.toLowerCase()), 'node');
  const who = (n: NamedNode): string => (n.name !== undefined ? `${n.name} (${shortId(n.uuid)})` : shortId(n.uuid));
  if (named.length > 1) {
    return { ok: false, reason: 'ambiguous', message: `${spec} is ambiguous node: ${named.length} nodes are named so (${named.map((n) => shortId(n.uuid)).join(', ')}); give a uuid prefix` };
  }
  const one = named[0];
  if (one === undefined) return byId;
  const prefixed = nodes.filter((n) => n.uuid.toLowerCase().startsWith(wanted) && n.uuid.toLowerCase() !== one.uuid.toLowerCase());
  if (prefixed.length > 0) {
    return { ok: false, reason: 'ambiguous', message: `${spec} is ambiguous node: it names ${who(one)} and starts the uuid of ${prefixed.map(who).join(', ')}` };
  }
  return { ok: true, id: one.uuid.toLowerCase() };
}
