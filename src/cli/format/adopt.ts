// `flocker adopt`, decided from plain API data: which datasets the nodes hold (their manifests,
// and the state for datasets made before manifests existed) that the configuration lacks or
// places elsewhere, and what to do about each. Pure, so every case is a table row in a test.
import type { ApiDatasetConfig, ApiDatasetState, ApiManifest } from '../../protocol/api-json.js';
import { shortId } from '../../model/ids.js';
import { formatMetadata } from './metadata.js';

export type AdoptStep =
  | { readonly kind: 'create'; readonly datasetId: string; readonly primary: string; readonly metadata: Record<string, string>; readonly maximumSize: number | null; readonly line: string }
  | { readonly kind: 'move'; readonly datasetId: string; readonly primary: string; readonly line: string }
  | { readonly kind: 'skip'; readonly datasetId: string; readonly line: string };

interface Found {
  datasetId: string;
  /** The node holding it, or the first node (by uuid) that sees it free. */
  node: string;
  held: boolean;
  metadata: Record<string, string>;
  maximumSize: number | null;
  fromManifest: boolean;
}

export function planAdopt(input: {
  readonly configuration: readonly ApiDatasetConfig[];
  readonly manifests: readonly ApiManifest[];
  readonly state: readonly ApiDatasetState[];
}): AdoptStep[] {
  const found = new Map<string, Found>();
  for (const m of [...input.manifests].sort((a, b) => a.node_uuid.localeCompare(b.node_uuid))) {
    const prev = found.get(m.dataset_id);
    // The holder wins over nodes that merely see the volume free in a shared pool.
    if (prev && (prev.held || !m.held)) continue;
    found.set(m.dataset_id, {
      datasetId: m.dataset_id, node: m.node_uuid, held: m.held, metadata: { ...m.metadata }, maximumSize: m.maximum_size, fromManifest: true,
    });
  }
  // Mounted somewhere but no manifest read (made before manifests existed): adopt it bare.
  for (const s of input.state) {
    if (found.has(s.dataset_id) || s.primary === undefined) continue;
    found.set(s.dataset_id, { datasetId: s.dataset_id, node: s.primary, held: true, metadata: {}, maximumSize: s.maximum_size ?? null, fromManifest: false });
  }
  const config = new Map(input.configuration.map((d) => [d.dataset_id, d]));
  const steps: AdoptStep[] = [];
  for (const f of [...found.values()].sort((a, b) => a.datasetId.localeCompare(b.datasetId))) {
    const where = f.held ? `node ${shortId(f.node)}, which holds it` : `node ${shortId(f.node)} (free in the pool; the first node that sees it)`;
    const c = config.get(f.datasetId);
    if (!c) {
      const meta = Object.keys(f.metadata).length > 0 ? ` (${formatMetadata(f.metadata)})` : '';
      const bare = f.fromManifest ? '' : '; no manifest found, so without metadata';
      steps.push({ kind: 'create', datasetId: f.datasetId, primary: f.node, metadata: f.metadata, maximumSize: f.maximumSize,
        line: `add dataset ${f.datasetId}${meta} on ${where}${bare}` });
    } else if (c.deleted) {
      steps.push({ kind: 'skip', datasetId: f.datasetId,
        line: `leave dataset ${f.datasetId} alone: the configuration marks it deleted, yet it is still in the pool (${where})` });
    } else if (f.held && c.primary !== f.node) {
      steps.push({ kind: 'move', datasetId: f.datasetId, primary: f.node,
        line: `point dataset ${f.datasetId} at ${where} (the configuration said node ${shortId(c.primary)})` });
    }
  }
  return steps;
}
