import { Command } from 'clipanion';
import { errorMessage, isUserError } from '../errors.js';

/**
 * Every flocker command: implement run(). A UserError becomes one line on stderr and its exit
 * code; any other error is a bug and prints its stack.
 */
export abstract class BaseCommand extends Command {
  abstract run(): Promise<number | void>;

  async execute(): Promise<number> {
    try {
      return (await this.run()) ?? 0;
    } catch (e) {
      if (isUserError(e)) {
        this.context.stderr.write(`flocker: ${e.message}\n`);
        return e.exitCode;
      }
      this.context.stderr.write(`flocker: internal error (a bug; please report it): ${errorMessage(e)}\n`);
      if (e instanceof Error && e.stack) this.context.stderr.write(`${e.stack}\n`);
      return 70;
    }
  }
}
