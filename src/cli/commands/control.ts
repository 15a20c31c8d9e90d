import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class ControlCommand extends BaseCommand {
  static override paths = [['control']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Run the control service: REST API v1 and the agent channel',
  });

  async run(): Promise<number> {
    return notYet('`flocker control`');
  }
}
