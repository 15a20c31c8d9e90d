// Which dataset ids a prefix is matched against.
import type { ApiDatasetConfig } from '../../protocol/api-json.js';

/**
 * Live datasets first, so a deleted dataset never makes a prefix ambiguous; when no live one
 * matches, every id (the API then says the dataset is deleted).
 */
export function datasetIdsForPrefix(datasets: readonly ApiDatasetConfig[], prefix: string): string[] {
  const p = prefix.toLowerCase();
  const live = datasets.filter((d) => !d.deleted).map((d) => d.dataset_id);
  return live.some((id) => id.toLowerCase().startsWith(p)) ? live : datasets.map((d) => d.dataset_id);
}
