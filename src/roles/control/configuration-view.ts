// /v1/configuration/datasets kept in id order from the ids each commit touched: a create in a
// cluster of 100,000 datasets converts one dataset and inserts it by binary search, where the
// list used to be sorted and converted whole on every change.
import type { DatasetMap } from '../../model/configuration.js';
import { datasetToApi, type ApiDatasetConfig } from '../../protocol/api-json.js';
import type { TouchedSince } from '../../store/touched.js';
import { position } from './sorted-ids.js';

export class ConfigurationView {
  private datasets?: DatasetMap;
  /** Every configured id, sorted, and its dataset as the API shows it at the same index. */
  private ids: string[] = [];
  private rows: ApiDatasetConfig[] = [];
  private valueCache?: ApiDatasetConfig[];
  private textCache?: string;

  /** `touched` names the dataset ids changed since the view last looked (it takes them). */
  constructor(private readonly touched: TouchedSince) {}

  get(datasets: DatasetMap): ApiDatasetConfig[] {
    this.update(datasets);
    return (this.valueCache ??= this.rows.slice());
  }

  json(datasets: DatasetMap): string {
    this.update(datasets);
    return (this.textCache ??= JSON.stringify(this.get(datasets)));
  }

  private update(datasets: DatasetMap): void {
    const before = this.datasets;
    if (datasets === before) return;
    const touched = this.touched.take().datasetIds;
    this.datasets = datasets;
    this.valueCache = undefined;
    this.textCache = undefined;
    if (before === undefined) {
      const entries = [...datasets.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.ids = entries.map((e) => e[0]);
      this.rows = entries.map((e) => datasetToApi(e[1]));
      return;
    }
    for (const id of touched) {
      const d = datasets.get(id);
      if (d === before.get(id)) continue;
      const p = position(this.ids, id);
      if (d && p.found) this.rows[p.at] = datasetToApi(d);
      else if (d) {
        this.ids.splice(p.at, 0, id);
        this.rows.splice(p.at, 0, datasetToApi(d));
      } else if (p.found) {
        this.ids.splice(p.at, 1);
        this.rows.splice(p.at, 1);
      }
    }
  }
}
