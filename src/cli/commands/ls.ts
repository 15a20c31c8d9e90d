import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class LsCommand extends BaseCommand {
  static override paths = [['ls'], ['list']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'List datasets with their size, metadata, status and server',
  });

  async run(): Promise<number> {
    return notYet('`flocker ls`');
  }
}
