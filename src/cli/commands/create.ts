import { Command, Option } from 'clipanion';
import type { ApiCreateDataset } from '../../protocol/api-json.js';
import { ConnectedCommand } from '../connection.js';
import { parseMetadata } from '../format/metadata.js';
import { parseTimeout, reportChange, requireFlag, resolveNodeOrThrow, withClient } from '../format/operator.js';
import { datasetSizeOption } from '../format/size.js';

export class CreateCommand extends ConnectedCommand {
  static override paths = [['create']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Create a dataset on a node',
    details: `
      \`--node\` takes a unique prefix of a node uuid (see \`flocker list-nodes\`). \`--size\` is a
      number with an optional binary unit (k, m, g, t; a bare number is bytes); without it the
      dataset gets the default size. \`--metadata\` is "key=value" pairs separated by commas; the
      key \`name\` is what the Docker plugin and the dashboard show.

      The control service records the dataset at once; the node creates it shortly after. With
      \`--wait\`, follow the cluster until it is attached there (or say why not) and exit non-zero
      if it has not got there by \`--timeout\` (errors the nodes retry are shown as they happen,
      and are the failure reported if they last until then).
    `,
    examples: [
      ['Create a 10 GiB dataset named web-db on the node whose uuid starts with 1a2b', '$0 create --node 1a2b --size 10G --metadata name=web-db'],
      ['Create and wait until it is attached', '$0 create -n 1a2b -s 512M --wait'],
    ],
  });

  node = Option.String('-n,--node', { description: 'Node name (agent.yml name) or uuid (or unique prefix) to create it on' });
  size = Option.String('-s,--size', { description: 'Maximum size, at least 64M, e.g. 10G, 512M, 1.5T (rounded up to whole KiB)' });
  metadata = Option.String('-m,--metadata', { description: 'Metadata, e.g. "name=web-db,tier=db"' });
  json = Option.Boolean('--json', false, { description: 'Print the created dataset as JSON' });
  wait = Option.Boolean('--wait', false, { description: 'Follow the cluster until the dataset is attached' });
  timeout = Option.String('--timeout', '120', { description: 'With --wait: give up after this long (120, 90s, 2m)' });

  async run(): Promise<number> {
    const nodePrefix = requireFlag(this.node, '--node');
    const body: ApiCreateDataset = {
      primary: '',
      ...(this.size !== undefined ? { maximum_size: datasetSizeOption(this.size) } : {}),
      ...(this.metadata !== undefined ? { metadata: parseMetadata(this.metadata) } : {}),
    };
    const timeoutMs = parseTimeout(this.timeout);
    return withClient(this.connection(), async (c) => {
      const nodes = await c.stateNodes();
      const primary = resolveNodeOrThrow(nodePrefix, nodes);
      const created = await c.createDataset({ ...body, primary });
      return reportChange(c, {
        out: this.context.stdout, err: this.context.stderr, json: this.json, wait: this.wait, timeoutMs,
        record: created,
        goal: { kind: 'on-node', datasetId: created.dataset_id, node: primary },
        waiting: `created dataset ${created.dataset_id} in configuration, waiting for it to be attached`,
        noWait: `created dataset ${created.dataset_id} in configuration, manually poll state with 'flocker ls' to see it show up.`,
      });
    });
  }
}
