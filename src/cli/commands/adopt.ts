import { Command, Option } from 'clipanion';
import { ConnectedCommand } from '../connection.js';
import { planAdopt } from '../format/adopt.js';
import { printJson, withClient } from '../format/operator.js';

export class AdoptCommand extends ConnectedCommand {
  static override paths = [['adopt']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Rebuild the configuration from what the nodes hold',
    details: `
      For a control service started on an empty database, or restored from an old backup: every
      dataset a node holds (or sees free in its pool) that the configuration lacks is added back
      with its id, metadata and maximum size from the manifest kept beside it in the pool, on
      the node that holds it; a dataset the configuration places on another node than the one
      holding it is pointed at its holder. Nothing is moved or unmounted, and the nodes, which
      refused to let go of anything while the configuration disagreed, then accept it.

      A dataset marked deleted in the configuration is left alone (and stays in the pool).
      \`--dry-run\` prints what would be done and changes nothing.
    `,
    examples: [
      ['See what would be adopted', '$0 adopt --dry-run'],
      ['Adopt everything the nodes hold', '$0 adopt'],
    ],
  });

  dryRun = Option.Boolean('--dry-run', false, { description: 'Print what would be done; change nothing' });
  json = Option.Boolean('--json', false, { description: 'Print the steps as JSON' });

  async run(): Promise<number> {
    return withClient(this.connection(), async (c) => {
      const [config, manifests, state] = await Promise.all([c.listDatasets(), c.stateManifests(), c.stateDatasets()]);
      const steps = planAdopt({ configuration: config.datasets, manifests, state });
      const out = this.context.stdout;
      if (!this.json && steps.length === 0) out.write('nothing to adopt: the configuration already has every dataset the nodes hold\n');
      let done = 0;
      for (const s of steps) {
        if (!this.json) out.write(`${this.dryRun ? 'would ' : ''}${s.line}\n`);
        if (this.dryRun) continue;
        if (s.kind === 'create') {
          await c.createDataset({ dataset_id: s.datasetId, primary: s.primary, metadata: s.metadata, maximum_size: s.maximumSize });
          done++;
        } else if (s.kind === 'move') {
          await c.moveDataset(s.datasetId, s.primary);
          done++;
        }
      }
      if (this.json) printJson(out, { dry_run: this.dryRun, steps: steps.map(({ kind, datasetId, line }) => ({ kind, dataset_id: datasetId, description: line })) });
      else if (!this.dryRun && steps.length > 0) out.write(`adopted: ${done} change${done === 1 ? '' : 's'} to the configuration\n`);
      return 0;
    });
  }
}
