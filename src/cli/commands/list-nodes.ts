import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class ListNodesCommand extends BaseCommand {
  static override paths = [['list-nodes']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'List the nodes that have reported state',
  });

  async run(): Promise<number> {
    return notYet('`flocker list-nodes`');
  }
}
