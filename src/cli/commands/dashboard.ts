import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class DashboardCommand extends BaseCommand {
  static override paths = [['dashboard']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Live terminal dashboard of the cluster converging',
  });

  async run(): Promise<number> {
    return notYet('`flocker dashboard`');
  }
}
