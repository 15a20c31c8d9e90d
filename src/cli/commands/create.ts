import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class CreateCommand extends BaseCommand {
  static override paths = [['create']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Create a dataset on a node',
  });

  async run(): Promise<number> {
    return notYet('`flocker create`');
  }
}
