import { Command, Option } from 'clipanion';
import type { ApiCreateDataset } from '../../protocol/api-json.js';
import { ConnectedCommand } from '../connection.js';
import { parseMetadata } from '../format/metadata.js';
import { followUntil, parseTimeout, printJson, requireFlag, resolveOrThrow, withClient } from '../format/operator.js';
import { parseDatasetSize } from '../format/size.js';

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
      on an error or after \`--timeout\`.
    `,
    examples: [
      ['Create a 10 GiB dataset named web-db on the node whose uuid starts with 1a2b', '$0 create --node 1a2b --size 10G --metadata name=web-db'],
      ['Create and wait until it is attached', '$0 create -n 1a2b -s 512M --wait'],
    ],
  });

  node = Option.String('-n,--node', { description: 'Node uuid (or unique prefix) to create it on' });
  size = Option.String('-s,--size', { description: 'Maximum size, at least 64M, e.g. 10G, 512M, 1.5T (rounded up to whole KiB)' });
  metadata = Option.String('-m,--metadata', { description: 'Metadata, e.g. "name=web-db,tier=db"' });
  json = Option.Boolean('--json', false, { description: 'Print the created dataset as JSON' });
  wait = Option.Boolean('--wait', false, { description: 'Follow the cluster until the dataset is attached' });
  timeout = Option.String('--timeout', '120', { description: 'With --wait: give up after this long (120, 90s, 2m)' });

  async run(): Promise<number> {
    const nodePrefix = requireFlag(this.node, '--node');
    const body: ApiCreateDataset = {
      primary: '',
      ...(this.size !== undefined ? { maximum_size: parseDatasetSize(this.size) } : {}),
      ...(this.metadata !== undefined ? { metadata: parseMetadata(this.metadata) } : {}),
    };
    const timeoutMs = parseTimeout(this.timeout);
    return withClient(this.connection(), async (c) => {
      const nodes = await c.stateNodes();
      const primary = resolveOrThrow(nodePrefix, nodes.map((n) => n.uuid), 'node');
      const created = await c.createDataset({ ...body, primary });
      const out = this.context.stdout;
      if (this.json && !this.wait) {
        printJson(out, created);
        return 0;
      }
      if (!this.json) {
        out.write(this.wait
          ? `created dataset ${created.dataset_id} in configuration, waiting for it to be attached\n`
          : `created dataset ${created.dataset_id} in configuration, manually poll state with 'flocker ls' to see it show up.\n`);
      }
      if (!this.wait) return 0;
      const v = await followUntil(c, { kind: 'on-node', datasetId: created.dataset_id, node: primary }, {
        timeoutMs, progress: (l) => { if (!this.json) out.write(`${l}\n`); },
      });
      if (this.json) printJson(out, { ...created, result: v.kind, message: v.line });
      else (v.kind === 'done' ? out : this.context.stderr).write(`${v.kind === 'done' ? '' : 'flocker: '}${v.line}\n`);
      return v.kind === 'done' ? 0 : 1;
    });
  }
}
