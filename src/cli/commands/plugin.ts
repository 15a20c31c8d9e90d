import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class PluginCommand extends BaseCommand {
  static override paths = [['plugin']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Run the Docker volume plugin (driver name: flocker)',
  });

  async run(): Promise<number> {
    return notYet('`flocker plugin`');
  }
}
