import { Command, Option } from 'clipanion';
import { ConnectedCommand } from '../connection.js';
import { LS_HEADERS, lsRows, lsTableRow } from '../format/datasets.js';
import { withClient } from '../format/operator.js';
import { writeJsonArray } from '../format/write-lines.js';
import { writeTable } from '../format/table.js';

export class LsCommand extends ConnectedCommand {
  static override paths = [['ls'], ['list']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'List datasets with their size, metadata, status and server',
    details: `
      Columns, as flockerctl: DATASET (full id), SIZE (GiB, or <no quota>), METADATA (k=v,...),
      STATUS (attached, pending, creating, attaching, mounting, moving, waiting-for-lease, error,
      deleting, deleted) and SERVER (the configured node: short uuid and address, or <missing>
      when that node has not reported).

      Deleted datasets that are gone are shown only with \`--deleted\`.
    `,
    examples: [
      ['List the datasets', '$0 ls'],
      ['Include deleted datasets and full node ids', '$0 ls --deleted --long'],
      ['Machine-readable output', '$0 ls --json'],
    ],
  });

  deleted = Option.Boolean('-d,--deleted', false, { description: 'Include deleted datasets' });
  long = Option.Boolean('-l,--long', false, { description: 'Show full node ids' });
  human = Option.Boolean('-h,--human', false, { description: 'Accepted for flockerctl compatibility (sizes are always human)', hidden: true });
  json = Option.Boolean('--json', false, { description: 'Print JSON instead of a table' });

  async run(): Promise<number> {
    const rows = await withClient(this.connection(), async (c) => {
      const [config, state, nodes, convergence] = await Promise.all([
        c.listDatasets(), c.stateDatasets(), c.stateNodes(), c.convergence(),
      ]);
      return lsRows({ configuration: config.datasets, state, nodes, convergence }, { deleted: this.deleted });
    });
    if (this.json) await writeJsonArray(this.context.stdout, rows);
    else await writeTable(this.context.stdout, LS_HEADERS, rows.map((r) => lsTableRow(r, this.long)));
    return 0;
  }
}
