// A control REST app on plain HTTP (127.0.0.1:0) over a real store in a temp dir, for route tests.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ControlHub } from '../../src/roles/control/hub.js';
import { createApp } from '../../src/roles/control/app.js';
import { openStore } from '../../src/store/sqlite.js';
import type { ConfigurationStore } from '../../src/store/store.js';
import { silentLogger } from '../../src/log.js';

export interface AppHarness {
  base: string;
  dir: string;
  hub: ControlHub;
  store: ConfigurationStore;
  server: Server;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: unknown; headers: Headers }>;
  close(): Promise<void>;
}

export async function startApp(opts: { now?: () => number; dir?: string; heartbeatMs?: number } = {}): Promise<AppHarness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'flocker-api-'));
  const store = openStore(dir);
  const hub = new ControlHub({ store, ...(opts.now ? { now: opts.now } : {}) });
  const server = createServer(createApp(hub, silentLogger(), opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}).callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base, dir, hub, store, server,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers };
      if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await fetch(base + path, init);
      const text = await res.text();
      let json: unknown;
      try { json = JSON.parse(text); } catch { json = text; }
      return { status: res.status, json, headers: res.headers };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
