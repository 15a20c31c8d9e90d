import { Command, Option } from 'clipanion';
import { ConnectedCommand } from '../connection.js';
import { parseTimeout, reportChange, requireFlag, resolveOrThrow, withClient } from '../format/operator.js';
import { datasetIdsForPrefix } from '../format/prefix.js';

export class DestroyCommand extends ConnectedCommand {
  static override paths = [['destroy']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Mark a dataset deleted; its node destroys the data',
    details: `
      \`--dataset\` takes a unique prefix of a dataset id (see \`flocker ls\`). The dataset is marked
      deleted in the configuration at once and its node unmounts and destroys the data shortly
      after; the id is never reused. With \`--wait\`, follow the cluster until the data is gone and
      exit non-zero if it is not gone by \`--timeout\` (errors the nodes retry are shown as they
      happen, and are the failure reported if they last until then).
    `,
    examples: [
      ['Destroy the dataset whose id starts with 5f0e', '$0 destroy --dataset 5f0e'],
      ['Destroy and wait until the data is gone', '$0 destroy -d 5f0e --wait'],
    ],
  });

  dataset = Option.String('-d,--dataset', { description: 'Dataset id (or unique prefix)' });
  json = Option.Boolean('--json', false, { description: 'Print the deleted dataset as JSON' });
  wait = Option.Boolean('--wait', false, { description: 'Follow the cluster until the data is destroyed' });
  timeout = Option.String('--timeout', '120', { description: 'With --wait: give up after this long (120, 90s, 2m)' });

  async run(): Promise<number> {
    const datasetPrefix = requireFlag(this.dataset, '--dataset');
    const timeoutMs = parseTimeout(this.timeout);
    return withClient(this.connection(), async (c) => {
      const config = await c.listDatasets();
      const datasetId = resolveOrThrow(datasetPrefix, datasetIdsForPrefix(config.datasets, datasetPrefix), 'dataset');
      const deleted = await c.deleteDataset(datasetId);
      return reportChange(c, {
        out: this.context.stdout, err: this.context.stderr, json: this.json, wait: this.wait, timeoutMs,
        record: deleted,
        goal: { kind: 'gone', datasetId },
        waiting: `marked dataset ${datasetId} as deleted, waiting for its data to be destroyed`,
        noWait: 'marked dataset as deleted. poll list manually to see it disappear.',
      });
    });
  }
}
