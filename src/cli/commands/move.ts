import { Command, Option } from 'clipanion';
import { ConnectedCommand } from '../connection.js';
import { parseTimeout, reportChange, requireFlag, resolveNodeOrThrow, resolveOrThrow, withClient } from '../format/operator.js';
import { datasetIdsForPrefix } from '../format/prefix.js';

export class MoveCommand extends ConnectedCommand {
  static override paths = [['move']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Move a dataset to another node',
    details: `
      \`--destination\` takes a node name (agent.yml \`name\`) or, like \`--dataset\`, a unique prefix of an id (see \`flocker ls\` and
      \`flocker list-nodes\`). The control service records the move at once; the nodes hand the
      data over shortly after (a lease on the dataset holds the move back until released). With
      \`--wait\`, follow the cluster until the dataset is attached on the destination (or say why
      not) and exit non-zero if it has not got there by \`--timeout\` (errors the nodes retry
      are shown as they happen, and are the failure reported if they last until then).

      A dataset on a node that has not reported for the control service's \`--node-timeout\` is
      \`unreachable\`, and the move is refused unless \`--force\` is given. With it the control
      service fences that node: when it comes back it lets go of everything moved off it before
      doing anything else. If that node is in fact still running and writing (a network
      partition), what it writes after the move is not in the moved dataset.
    `,
    examples: [
      ['Move the dataset starting with 5f0e to the node starting with 9c8d', '$0 move --dataset 5f0e --destination 9c8d'],
      ['Move and wait until it arrives', '$0 move -d 5f0e -t 9c8d --wait --timeout 5m'],
    ],
  });

  dataset = Option.String('-d,--dataset', { description: 'Dataset id (or unique prefix)' });
  destination = Option.String('-t,--destination', { description: 'Node name (agent.yml name) or uuid (or unique prefix) to move it to' });
  force = Option.Boolean('--force', false, { description: 'Move off a node that is unreachable, fencing it (see below)' });
  json = Option.Boolean('--json', false, { description: 'Print the updated dataset as JSON' });
  wait = Option.Boolean('--wait', false, { description: 'Follow the cluster until the dataset is attached on the destination' });
  timeout = Option.String('--timeout', '120', { description: 'With --wait: give up after this long (120, 90s, 2m)' });

  async run(): Promise<number> {
    const datasetPrefix = requireFlag(this.dataset, '--dataset');
    const nodePrefix = requireFlag(this.destination, '--destination');
    const timeoutMs = parseTimeout(this.timeout);
    return withClient(this.connection(), async (c) => {
      const [nodes, config] = await Promise.all([c.stateNodes(), c.listDatasets()]);
      const primary = resolveNodeOrThrow(nodePrefix, nodes);
      const datasetId = resolveOrThrow(datasetPrefix, datasetIdsForPrefix(config.datasets, datasetPrefix), 'dataset');
      const moved = await c.moveDataset(datasetId, primary, undefined, this.force ? { force: true } : undefined);
      return reportChange(c, {
        out: this.context.stdout, err: this.context.stderr, json: this.json, wait: this.wait, timeoutMs,
        record: moved,
        goal: { kind: 'on-node', datasetId, node: primary },
        waiting: `initiated move of dataset ${datasetId} to ${primary}, waiting for it to arrive`,
        noWait: 'initiated move of dataset, please check state to observe it actually move.',
      });
    });
  }
}
