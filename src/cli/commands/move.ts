import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class MoveCommand extends BaseCommand {
  static override paths = [['move']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Move a dataset to another node',
  });

  async run(): Promise<number> {
    return notYet('`flocker move`');
  }
}
