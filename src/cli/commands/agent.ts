import { Command } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class AgentCommand extends BaseCommand {
  static override paths = [['agent']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Run the node agent that converges local storage to the configuration',
  });

  async run(): Promise<number> {
    return notYet('`flocker agent`');
  }
}
