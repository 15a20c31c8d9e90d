import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class DestroyCommand extends BaseCommand {
  static override paths = [['destroy']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Mark a dataset deleted; its node destroys the data',
  });

  async run(): Promise<number> {
    return notYet('`flocker destroy`');
  }
}
