// This replica's etcd lease, on which the node states it writes live: granted on first use, kept
// alive by the client, made anew after it was lost (etcd unreachable past the TTL took our node
// keys with it), revoked on close so other replicas see our nodes gone at once.
import type { Etcd3, Lease as EtcdLease } from 'etcd3';

export class ReplicaLease {
  private lease?: EtcdLease;
  private leaseId = '';

  constructor(private readonly client: Etcd3, private readonly ttlSeconds: number) {}

  /** The lease id, granting a lease first if there is none. */
  async id(): Promise<string> {
    if (this.lease && !this.lease.revoked() && this.leaseId) return this.leaseId;
    const lease = this.client.lease(this.ttlSeconds, { autoKeepAlive: true });
    lease.on('lost', () => {
      if (this.lease !== lease) return;
      this.lease = undefined;
      this.leaseId = '';
    });
    this.lease = lease;
    try {
      this.leaseId = await lease.grant();
    } catch (e) {
      this.lease = undefined;
      throw e;
    }
    return this.leaseId;
  }

  /** The lease id if one is held ('' if not): what this replica's node records carry. */
  get current(): string {
    return this.leaseId;
  }

  async revoke(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    if (lease && !lease.revoked()) await lease.revoke();
  }
}
