// `flocker ca ...`: the cluster certificate authority, like the original flocker-ca. Thin: the
// certificate work is in src/tls/ca.ts.
import { Command, Option } from 'clipanion';
import { basename, join } from 'node:path';
import { BaseCommand } from '../base-command.js';
import { UserError } from '../../errors.js';
import type { Authority, Issued, KeyOptions, WrittenFiles } from '../../tls/ca.js';

type CaModule = typeof import('../../tls/ca.js');

const CATEGORY = 'Certificates';

abstract class CaCommand extends BaseCommand {
  outputpath = Option.String('-o,--outputpath', {
    description: 'Folder to write the new files to (default: the current directory)',
  });
  // Hidden: tests and local clusters trade key strength for speed.
  keyBits = Option.String('--key-bits', { hidden: true });

  protected keyOptions(): KeyOptions {
    if (this.keyBits === undefined) return {};
    const bits = Number(this.keyBits);
    if (!Number.isInteger(bits) || bits < 2048 || bits > 16384 || bits % 8 !== 0) {
      throw new UserError(`--key-bits must be a whole number of bytes' worth of bits from 2048 to 16384, got ${JSON.stringify(this.keyBits)}`);
    }
    return { keyBits: bits };
  }

  protected outputDir(): string {
    return this.outputpath ?? '.';
  }

  /** File names as the user would type them: bare in the current directory, else under -o. */
  protected shown(files: WrittenFiles): { cert: string; key: string } {
    const show = (p: string): string => (this.outputpath === undefined ? basename(p) : join(this.outputpath, basename(p)));
    return { cert: show(files.cert), key: show(files.key) };
  }

  protected say(text: string): void {
    this.context.stdout.write(`${text}\n`);
  }
}

abstract class SigningCommand extends CaCommand {
  inputpath = Option.String('-i,--inputpath', {
    description: 'Folder holding cluster.crt and cluster.key (default: the current directory)',
  });

  /**
   * Signs a new certificate with the authority under -i and writes it as NAME.crt and NAME.key
   * under -o; returns what was issued and the file names as the user would type them.
   */
  protected async issue<T extends Issued>(
    make: (tls: CaModule, authority: Authority, keys: KeyOptions) => Promise<T>,
    name: (issued: T) => string,
  ): Promise<{ issued: T; files: { cert: string; key: string } }> {
    // Loaded here, not at the top: the CA library costs every other command its start-up time.
    const tls = await import('../../tls/ca.js');
    const authority = await tls.loadAuthority(this.inputpath ?? '.');
    const issued = await make(tls, authority, this.keyOptions());
    return { issued, files: this.shown(tls.writeIssued(this.outputDir(), name(issued), issued)) };
  }
}

export class CaInitializeCommand extends CaCommand {
  static override paths = [['ca', 'initialize']];
  static override usage = Command.Usage({
    category: CATEGORY,
    description: 'Create the cluster certificate authority',
    details: `
      Creates \`cluster.crt\` and \`cluster.key\`: the certificate authority that signs the control
      service, node and API user certificates of one cluster. The certificate's subject carries
      the cluster name (CN) and a new random cluster UUID (OU).

      Keep \`cluster.key\` secret and off the cluster's machines: whoever has it can add nodes
      and users. \`cluster.crt\` goes to every node and every API user.

      Existing files are never overwritten.
    `,
    examples: [
      ['Create the authority for a cluster named "production" here', '$0 ca initialize production'],
      ['Create it in another folder', '$0 ca initialize production -o ~/flocker-ca'],
    ],
  });
  name = Option.String({ name: 'CLUSTER_NAME' });

  async run(): Promise<number> {
    const { initializeAuthority } = await import('../../tls/ca.js');
    const { authority, files } = await initializeAuthority(this.outputDir(), this.name, this.keyOptions());
    const f = this.shown(files);
    this.say(`Created ${f.key} and ${f.cert} for cluster ${JSON.stringify(authority.name)} (cluster UUID ${authority.clusterUuid}).`);
    this.say(`Keep ${f.key} secret and off the cluster's machines: whoever holds it can add nodes and users.`);
    this.say(`Next: \`flocker ca create-control-certificate HOSTNAME\`, then a node certificate per node and an API certificate per user.`);
    return 0;
  }
}

export class CaControlCommand extends SigningCommand {
  static override paths = [['ca', 'create-control-certificate']];
  static override usage = Command.Usage({
    category: CATEGORY,
    description: 'Create the control service certificate',
    details: `
      Creates \`control-HOSTNAME.crt\` and \`control-HOSTNAME.key\`, signed by the cluster
      authority. The certificate is named \`control-service\` and also carries HOSTNAME (a DNS
      name, or an IP address), the address agents and API users dial.

      Install the pair on the control service machine as
      \`/etc/flocker/control-service.crt\` and \`/etc/flocker/control-service.key\`, next to
      \`cluster.crt\`.
    `,
    examples: [
      ['For a control service reached as control.example.com', '$0 ca create-control-certificate control.example.com'],
      ['For one reached by IP address, using the authority in ~/flocker-ca', '$0 ca create-control-certificate 10.0.0.5 -i ~/flocker-ca -o ~/flocker-ca'],
    ],
  });
  hostname = Option.String({ name: 'HOSTNAME' });

  async run(): Promise<number> {
    const { files: f } = await this.issue((tls, ca, keys) => tls.issueControlCertificate(ca, this.hostname, keys), () => `control-${this.hostname}`);
    this.say(`Created ${f.cert} and ${f.key} for the control service at ${this.hostname}.`);
    this.say(`Copy them to /etc/flocker/ on that machine, renamed control-service.crt and control-service.key (keep the key mode 0600).`);
    return 0;
  }
}

export class CaNodeCommand extends SigningCommand {
  static override paths = [['ca', 'create-node-certificate']];
  static override usage = Command.Usage({
    category: CATEGORY,
    description: 'Create a node certificate',
    details: `
      Creates \`UUID.crt\` and \`UUID.key\` for a new node, where UUID is a new random node
      identity (the certificate is named \`node-UUID\`). The node's agent learns who it is from
      this certificate.

      Install the pair on the node as \`/etc/flocker/node.crt\` and \`/etc/flocker/node.key\`,
      next to \`cluster.crt\` and \`agent.yml\`. Make one per node.
    `,
    examples: [
      ['Create a node certificate here', '$0 ca create-node-certificate'],
      ['Use the authority in ~/flocker-ca and write to ./node1', '$0 ca create-node-certificate -i ~/flocker-ca -o node1'],
    ],
  });

  async run(): Promise<number> {
    const { issued, files: f } = await this.issue((tls, ca, keys) => tls.issueNodeCertificate(ca, keys), (i) => i.uuid);
    this.say(`Created ${f.cert} and ${f.key} for node ${issued.uuid}.`);
    this.say(`Copy them to /etc/flocker/ on that node, renamed node.crt and node.key (keep the key mode 0600), next to cluster.crt.`);
    return 0;
  }
}

export class CaApiCommand extends SigningCommand {
  static override paths = [['ca', 'create-api-certificate']];
  static override usage = Command.Usage({
    category: CATEGORY,
    description: 'Create an API user certificate',
    details: `
      Creates \`USERNAME.crt\` and \`USERNAME.key\`: a client certificate (named
      \`user-USERNAME\`) that lets its holder use the REST API, the \`flocker\` operator commands
      and the dashboard. Every API user has full access; the name is for your records.

      The Docker plugin on each node is an API user named \`plugin\`: install its pair there as
      \`/etc/flocker/plugin.crt\` and \`/etc/flocker/plugin.key\`.
    `,
    examples: [
      ['Create a certificate for the API user alice', '$0 ca create-api-certificate alice'],
      ['Then, with cluster.crt next to them', '$0 ls --certs-path . --user alice --control-service control.example.com'],
      ["Create the Docker plugin's certificate", '$0 ca create-api-certificate plugin'],
    ],
  });
  username = Option.String({ name: 'USERNAME' });

  async run(): Promise<number> {
    const { files: f } = await this.issue((tls, ca, keys) => tls.issueUserCertificate(ca, this.username, keys), () => this.username);
    this.say(`Created ${f.cert} and ${f.key} for API user ${this.username}.`);
    this.say(`Give them to that user together with cluster.crt; they connect with \`--certs-path FOLDER --user ${this.username}\`.`);
    return 0;
  }
}
