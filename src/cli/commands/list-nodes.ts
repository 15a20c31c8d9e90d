import { Command, Option } from 'clipanion';
import { ConnectedCommand } from '../connection.js';
import { NODE_HEADERS, nodeTableRow } from '../format/datasets.js';
import { printJson, withClient } from '../format/operator.js';
import { renderTable } from '../format/table.js';

export class ListNodesCommand extends ConnectedCommand {
  static override paths = [['list-nodes'], ['status']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'List the nodes that have reported state',
    details: `
      Columns: SERVER (the node uuid's first 8 characters, or all of it with \`--long\`) and
      ADDRESS (the agent's address as the control service sees it).
    `,
    examples: [
      ['List the nodes', '$0 list-nodes'],
      ['Full node uuids', '$0 list-nodes -l'],
      ['Machine-readable output', '$0 list-nodes --json'],
    ],
  });

  long = Option.Boolean('-l,--long', false, { description: 'Show full node uuids' });
  json = Option.Boolean('--json', false, { description: 'Print JSON instead of a table' });

  async run(): Promise<number> {
    const nodes = await withClient(this.connection(), (c) => c.stateNodes());
    const sorted = [...nodes].sort((a, b) => a.host.localeCompare(b.host) || a.uuid.localeCompare(b.uuid));
    if (this.json) printJson(this.context.stdout, sorted);
    else this.context.stdout.write(renderTable(NODE_HEADERS, sorted.map((n) => nodeTableRow(n, this.long))));
    return 0;
  }
}
