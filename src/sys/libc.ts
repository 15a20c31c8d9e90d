// System calls made directly through libc (the koffi FFI), for the steps on the agent's hot path:
// mount(2), umount2(2) and the loop-device ioctls cost microseconds this way, where spawning
// mount(8) or losetup(8) costs a fork+exec (about 10 ms each on our VMs). The native addon is
// loaded on first use, so commands that never mount (--help, control, the CLI) never load it.
import type { LibraryHandle } from 'koffi';
import { getSystemErrorName } from 'node:util';

/** A system call failed; the message reads like mount(8)'s: what, where, and why. */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  /**
   * @param what the operation as a person would type it, e.g. "mount /dev/loop3 on /x"
   * @param code the errno name, e.g. "EBUSY" (as Node's own errors carry it)
   */
  constructor(readonly what: string, readonly code: string, readonly errno: number, why: string) {
    super(`${what} failed: ${code} (${why})`);
  }
}

/** Words that say more than strerror for one errno of one call ("EINVAL" of umount: not mounted). */
export type Hints = Readonly<Partial<Record<string, string>>>;

export interface Libc {
  mount(what: string, source: string, target: string, fsType: string | null, flags: number, data: string | null, hints?: Hints): Promise<void>;
  umount2(what: string, target: string, flags: number, hints?: Hints): Promise<void>;
  /** ioctl with an integer argument, or a buffer the kernel reads (a struct). Resolves with the result. */
  ioctl(what: string, fd: number, request: number, arg: number | Buffer, hints?: Hints): Promise<number>;
}

type Callback = (err: unknown, result: number) => void;
type Foreign = ReturnType<LibraryHandle['func']>;

let loaded: Promise<Libc> | undefined;

/**
 * koffi refuses an asynchronous call past 256 queued ones ("Too many asynchronous calls are
 * running"), and an agent may mount a thousand datasets at once; the thread pool runs four at a
 * time anyway, so the rest wait here, in order.
 */
const MAX_IN_FLIGHT = 64;
let inFlight = 0;
const waiting: (() => void)[] = [];

async function inTurn<T>(f: () => Promise<T>): Promise<T> {
  if (inFlight < MAX_IN_FLIGHT) inFlight++;
  else await new Promise<void>((resolve) => waiting.push(resolve)); // handed a slot by release
  try {
    return await f();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  }
}

/** The libc binding, loaded once. */
export function libc(): Promise<Libc> {
  loaded ??= bind().catch((e: unknown) => {
    loaded = undefined; // let a later call try again (and say why again)
    throw e;
  });
  return loaded;
}

async function bind(): Promise<Libc> {
  const { default: koffi } = await import('koffi');
  const lib = koffi.load('libc.so.6');
  const mount = lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
  const umount2 = lib.func('int umount2(const char *target, int flags)');
  // ioctl is variadic, and koffi cannot call a variadic function off the main thread; integer
  // and pointer arguments pass the same way either side of the "..." on x86-64 and arm64.
  const ioctlInt = lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']);
  const ioctlPtr = lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']);
  const strerror = lib.func('const char *strerror(int errnum)');

  const failure = (what: string, errno: number, hints: Hints | undefined): SyscallError => {
    let code: string;
    try {
      code = getSystemErrorName(-errno);
    } catch {
      code = `errno ${errno}`;
    }
    const text = String(strerror(errno));
    const why = hints?.[code] ?? (text.charAt(0).toLowerCase() + text.slice(1));
    return new SyscallError(what, code, errno, why);
  };

  // On a worker thread: a mount replays a journal and an unmount flushes, which may take a while
  // and must not stall the agent's event loop. errno is the worker's, handed back to the main
  // thread only for the duration of the callback, so it is read there and nowhere later.
  const call = (fn: Foreign, what: string, args: readonly unknown[], hints: Hints | undefined): Promise<number> =>
    inTurn(() => new Promise((resolve, reject) => {
      const done: Callback = (err, result) => {
        if (err) reject(err instanceof Error ? err : new Error(`${what}: ${String(err)}`));
        else if (result < 0) reject(failure(what, koffi.errno(), hints));
        else resolve(result);
      };
      fn.async(...args, done);
    }));

  return {
    async mount(what, source, target, fsType, flags, data, hints) {
      await call(mount, what, [source, target, fsType, flags, data], hints);
    },
    async umount2(what, target, flags, hints) {
      await call(umount2, what, [target, flags], hints);
    },
    ioctl(what, fd, request, arg, hints) {
      return typeof arg === 'number'
        ? call(ioctlInt, what, [fd, request, arg], hints)
        : call(ioctlPtr, what, [fd, request, arg], hints);
    },
  };
}
