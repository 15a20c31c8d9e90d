// `flocker store copy FROM TO [--force]`. Thin: the copy is src/store/copy.ts.
import { Command, Option } from 'clipanion';
import { BaseCommand } from '../base-command.js';
import { UserError } from '../../errors.js';

export class StoreCopyCommand extends BaseCommand {
  static override paths = [['store', 'copy']];
  static override usage = Command.Usage({
    category: 'Services',
    description: 'Copy the whole configuration from one store to another',
    details: `
      FROM and TO are store URLs as for \`flocker control --store\`: \`sqlite:PATH\` or
      \`etcd://HOST:PORT[,HOST:PORT...][/PREFIX]\`. Every dataset and lease is copied, and the
      store's identity and generation with them, so agents carry on with the copy as with the
      original. Stop the control service(s) using TO first; FROM may be in use only if it is etcd.

      A TO that already holds a configuration is refused unless \`--force\`, which replaces it.
    `,
    examples: [
      ['Move the configuration of a single control service to etcd', '$0 store copy sqlite:/var/lib/flocker/control.sqlite etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379'],
      ['And back', '$0 store copy etcd://10.0.0.1:2379 sqlite:/var/lib/flocker/control.sqlite --force'],
    ],
  });

  from = Option.String({ required: true });
  to = Option.String({ required: true });
  force = Option.Boolean('--force', false, { description: 'Replace a configuration TO already holds' });
  etcdCa = Option.String('--etcd-ca', { description: 'CA certificate of an etcd that requires TLS' });
  etcdCert = Option.String('--etcd-cert', { description: 'Client certificate for etcd' });
  etcdKey = Option.String('--etcd-key', { description: 'Client key for etcd' });

  async run(): Promise<number> {
    const [{ parseStoreUrl }, { copyStore }] = await Promise.all([import('../../store/open.js'), import('../../store/copy.js')]);
    const from = parseStoreUrl(this.from);
    const to = parseStoreUrl(this.to);
    if ((this.etcdCert === undefined) !== (this.etcdKey === undefined)) throw new UserError('--etcd-cert and --etcd-key go together');
    const tls = this.etcdCa !== undefined
      ? { ca: this.etcdCa, ...(this.etcdCert !== undefined ? { cert: this.etcdCert } : {}), ...(this.etcdKey !== undefined ? { key: this.etcdKey } : {}) }
      : undefined;
    const r = await copyStore(from, to, { force: this.force, ...(tls ? { tls } : {}) });
    this.context.stdout.write(`copied ${r.datasets} datasets and ${r.leases} leases (generation ${r.generation}) from ${this.from} to ${this.to}\n`);
    return 0;
  }
}
