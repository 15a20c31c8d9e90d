import { Command, Option } from 'clipanion';
import { ConnectedCommand } from '../connection.js';
import { withClient } from '../format/operator.js';
import { loadDashboard } from '../../ui/load.js';

export class DashboardCommand extends ConnectedCommand {
  static override paths = [['dashboard']];
  static override usage = Command.Usage({
    category: 'Operate',
    description: 'Live terminal dashboard of the cluster converging',
    details: `
      Follows the control service's event stream and shows the nodes, the datasets (desired and
      actual node, phase and the reason for it), leases and a log of changes. Reconnects by itself
      when the control service goes away.

      Keys: ↑/↓ or j/k select a dataset, Enter shows its details (metadata, phases seen, last
      error), m moves it to another node, d deletes it (after confirmation), / filters, Esc goes
      back, q quits.

      Needs a terminal; with \`--once\` it prints one plain-text snapshot instead (for scripts).
    `,
    examples: [
      ['Watch the cluster whose certificates are in ./certs', '$0 dashboard --certs-path ./certs'],
      ['Print one snapshot and exit', '$0 dashboard --once'],
      ['The same snapshot as JSON, for scripts', '$0 dashboard --json'],
    ],
  });

  once = Option.Boolean('--once', false, { description: 'Print one plain-text snapshot and exit' });
  json = Option.Boolean('--json', false, { description: 'Print one snapshot (with convergence counts) as JSON and exit' });
  title = Option.String('--title', { description: 'Title shown in the header (default flocker)', hidden: true });

  async run(): Promise<number> {
    // A live dashboard says which control service it uses in its header; a line on stderr would tear the screen.
    const connection = this.once || this.json ? this.connection() : { ...this.connection(), warn: () => undefined };
    // Ink and React are loaded only here, so no other command pays for them (or breaks on them).
    const { runDashboard } = await loadDashboard(this.context.stdout as NodeJS.WriteStream);
    return withClient(connection, (client) => runDashboard({
      client,
      stdout: this.context.stdout as NodeJS.WriteStream,
      stdin: this.context.stdin as NodeJS.ReadStream,
      once: this.once,
      json: this.json,
      ...(this.title !== undefined ? { title: this.title } : {}),
    }));
  }
}
