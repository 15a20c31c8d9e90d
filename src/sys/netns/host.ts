// What one simulated host is made of (its names, address and files). Shared by the modules that
// make and unmake its parts (links.ts, mount-ns.ts, share-out.ts), so none of them needs hosts.ts.

/** Where each network keeps its namespace files and state, one folder per bridge. */
export const RUN_ROOT = '/run/flocker-hosts';

export interface Host {
  readonly name: string;
  /** 1-based. */
  readonly index: number;
  /** `ip netns` name. */
  readonly netns: string;
  /** The host's own IPv4 address on the bridge. */
  readonly address: string;
  /** Bind mount that keeps the host's mount namespace. */
  readonly mountNs: string;
  /** The bridge end of the host's veth pair (down = the host is cut off). */
  readonly vethHost: string;
  /** The host's own folder: at teardown every mount and loop device below it is removed. */
  readonly dir?: string;
  /** Mounts the host makes below this folder also appear in the default namespace (only there). */
  readonly shareOut?: string;
}

/** `path` is `root` or lies below it (a plain prefix test would take /a/bc for below /a/b). */
export const under = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);
