import { Command, Option } from 'clipanion';
import { BaseCommand, notYet } from '../base-command.js';

export class CaInitializeCommand extends BaseCommand {
  static override paths = [['ca', 'initialize']];
  static override usage = Command.Usage({ category: 'Certificates', description: 'Create the cluster certificate authority' });
  name = Option.String();
  async run(): Promise<number> {
    return notYet('`flocker ca initialize`');
  }
}
export class CaControlCommand extends BaseCommand {
  static override paths = [['ca', 'create-control-certificate']];
  static override usage = Command.Usage({ category: 'Certificates', description: 'Create the control service certificate' });
  hostname = Option.String();
  async run(): Promise<number> {
    return notYet('`flocker ca create-control-certificate`');
  }
}
export class CaNodeCommand extends BaseCommand {
  static override paths = [['ca', 'create-node-certificate']];
  static override usage = Command.Usage({ category: 'Certificates', description: 'Create a node certificate' });
  async run(): Promise<number> {
    return notYet('`flocker ca create-node-certificate`');
  }
}
export class CaApiCommand extends BaseCommand {
  static override paths = [['ca', 'create-api-certificate']];
  static override usage = Command.Usage({ category: 'Certificates', description: 'Create an API user certificate' });
  username = Option.String();
  async run(): Promise<number> {
    return notYet('`flocker ca create-api-certificate`');
  }
}
