import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class ClusterUpCommand extends BaseCommand {
  static override paths = [['cluster', 'up']];
  static override usage = Command.Usage({
    category: 'Local cluster',
    description: 'Bring up a whole local cluster (control, agents, dashboard) in one command',
  });

  async run(): Promise<number> {
    return notYet('`flocker cluster up`');
  }
}
