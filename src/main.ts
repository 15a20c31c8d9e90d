// The single `flocker` executable: every role and tool is a subcommand. Role code is loaded
// lazily by each command so `--help` stays fast and a role never pays for another's modules.
import { Builtins, Cli, type BaseContext, type Command } from 'clipanion';
import { AdoptCommand } from './cli/commands/adopt.js';
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
import { StoreCopyCommand } from './cli/commands/store-copy.js';
import { VERSION } from './version.js';
import { errorMessage } from './errors.js';

export function buildCli(enableColors: boolean): Cli<BaseContext> {
  const cli = new Cli({ binaryName: 'flocker', binaryLabel: 'Flocker (TypeScript rebuild)', binaryVersion: VERSION, enableColors });
  for (const c of [
    ControlCommand, AgentCommand, PluginCommand, DashboardCommand,
    LsCommand, ListNodesCommand, CreateCommand, MoveCommand, DestroyCommand, AdoptCommand,
    CaInitializeCommand, CaControlCommand, CaNodeCommand, CaApiCommand,
    ClusterUpCommand, StoreCopyCommand, DoctorCommand, Builtins.HelpCommand, Builtins.VersionCommand,
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
    const text = errorMessage(e);
    const first = text.startsWith('Command not found')
      ? notFound(cli, argv)
      : (text.split('\n').find((l) => l.trim() !== '') ?? 'invalid command line').trim();
    const hint = knownPath(cli, argv);
    context.stderr.write(`flocker: ${first}${first.includes('--help') ? '' : ` (see 'flocker ${hint ? `${hint} ` : ''}--help')`}\n`);
    return 2;
  }
  // Cli#run accepts an already-processed command at runtime; its typings only admit argv.
  return cli.run(command as unknown as string[], context);
}

/**
 * clipanion says "Command not found" both for an unknown command and for a known command with
 * a missing required option; name the command in the second case so the user knows where to look.
 */
function commandPaths(cli: Cli<BaseContext>): string[] {
  return cli.definitions().map((d) => d.path.replace(/^flocker /, '').split(' ').filter((w) => !/^[<[-]/.test(w)).join(' '));
}

function knownPath(cli: Cli<BaseContext>, argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  return commandPaths(cli)
    .filter((p) => p !== '' && words.slice(0, p.split(' ').length).join(' ') === p)
    .sort((a, b) => b.length - a.length)[0];
}

function notFound(cli: Cli<BaseContext>, argv: readonly string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  const paths = commandPaths(cli);
  const known = knownPath(cli, argv);
  if (known) return `missing or invalid options for 'flocker ${known}'; run 'flocker ${known} --help'`;
  const group = paths.filter((p) => p.startsWith(`${words[0] ?? ''} `));
  if (group.length > 0) return `'flocker ${words[0]}' needs a subcommand: ${group.map((p) => p.split(' ')[1]).join(', ')}`;
  return `unknown command: ${words.join(' ')}`;
}

const isEntry = typeof require !== 'undefined' ? require.main === module : process.argv[1]?.endsWith('main.ts');
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
