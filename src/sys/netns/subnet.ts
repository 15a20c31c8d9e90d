// Picking a private /24 for a set of simulated hosts that no interface or route on this machine
// already uses, so our bridge never shadows a real network (or another test's bridge).

export interface Cidr {
  /** The address as a 32-bit unsigned number. */
  readonly base: number;
  readonly prefix: number;
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const [ip, len] = text.split('/');
  const base = ipToNumber(ip ?? '');
  const prefix = len === undefined ? 32 : Number(len);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return { base, prefix };
}

function range(c: Cidr): [number, number] {
  const size = 2 ** (32 - c.prefix);
  const start = Math.floor(c.base / size) * size;
  return [start, start + size - 1];
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

/**
 * Every IPv4 network named in `ip -o -4 addr` and `ip -4 route` output ("default" aside), so the
 * choice avoids both addresses on interfaces and networks reached through a gateway.
 */
export function usedNetworks(ipAddrOutput: string, ipRouteOutput: string): Cidr[] {
  const out: Cidr[] = [];
  for (const m of ipAddrOutput.matchAll(/\binet\s+(\d+\.\d+\.\d+\.\d+\/\d+)/g)) {
    const c = parseCidr(m[1] ?? '');
    if (c) out.push(c);
  }
  for (const line of ipRouteOutput.split('\n')) {
    const first = line.trim().split(/\s+/)[0] ?? '';
    const c = first === 'default' ? undefined : parseCidr(first);
    if (c) out.push(c);
  }
  return out;
}

/** A random 10.a.b.0/24 overlapping none of `used`; undefined if `tries` random picks all collide. */
export function pickSubnet(used: readonly Cidr[], random: () => number = Math.random, tries = 200): Cidr | undefined {
  for (let i = 0; i < tries; i++) {
    // 10.0.x and 10.255.x are left alone: they are the ones people pick by hand.
    const a = 1 + Math.floor(random() * 254);
    const b = Math.floor(random() * 256);
    const candidate: Cidr = { base: ipToNumber(`10.${a}.${b}.0`) ?? 0, prefix: 24 };
    if (!used.some((u) => overlaps(u, candidate))) return candidate;
  }
  return undefined;
}
