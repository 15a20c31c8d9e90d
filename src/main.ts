// The single `flocker` executable: every role and tool is a subcommand. Role code is loaded
// lazily by each command so `--help` stays fast and a role never pays for another's modules.
import { Builtins, Cli, type BaseContext, type Command } from 'clipanion';
import { AgentCommand } from './cli/commands/agent.js';
import { CaApiCommand, CaControlCommand, CaInitializeCommand, CaNodeCommand } from './cli/commands/ca.js';
import { ClusterUpCommand } from './cli/commands/cluster-up.js';
import { ControlCommand } from './cli/commands/control.js';
import { CreateCommand } from './cli/commands/create.js';
import { DashboardCommand } from './cli/commands/dashboard.js';
import { DestroyCommand } from './cli/commands/destroy.js';
import { DoctorCommand } from './cli/commands/doctor.js';
import { ListNodesCommand } from './cli/commands/list-nodes.js';
import { LsCommand } from './cli/commands/ls.js';
import { MoveCommand } from './cli/commands/move.js';
import { PluginCommand } from './cli/commands/plugin.js';
import { VERSION } from './version.js';

export function buildCli(enableColors: boolean): Cli<BaseContext> {
  const cli = new Cli({ binaryName: 'flocker', binaryLabel: 'Flocker (TypeScript rebuild)', binaryVersion: VERSION, enableColors });
  for (const c of [
    ControlCommand, AgentCommand, PluginCommand, DashboardCommand,
    LsCommand, ListNodesCommand, CreateCommand, MoveCommand, DestroyCommand,
    CaInitializeCommand, CaControlCommand, CaNodeCommand, CaApiCommand,
    ClusterUpCommand, DoctorCommand, Builtins.HelpCommand, Builtins.VersionCommand,
  ]) cli.register(c);
  return cli;
}

/** Parse errors (unknown flag or command) are the user's: one line on stderr, exit 2. */
export async function main(argv: readonly string[], context: BaseContext = Cli.defaultContext): Promise<number> {
  const cli = buildCli(Boolean((context.stdout as NodeJS.WriteStream).isTTY));
  if (argv.length === 0) {
    context.stdout.write(cli.usage(null));
    return 0;
  }
  let command: Command<BaseContext>;
  try {
    command = cli.process([...argv], context);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    const first = text.startsWith('Command not found')
      ? `unknown command: ${argv.filter((a) => !a.startsWith('-')).join(' ')}`
      : (text.split('\n').find((l) => l.trim() !== '') ?? 'invalid command line').trim();
    context.stderr.write(`flocker: ${first} (see 'flocker --help')\n`);
    return 2;
  }
  // Cli#run accepts an already-processed command at runtime; its typings only admit argv.
  return cli.run(command as unknown as string[], context);
}

const isEntry = typeof require !== 'undefined' ? require.main === module : process.argv[1]?.endsWith('main.ts');
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
