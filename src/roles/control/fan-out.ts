// Pushing the `cluster` message to connected agents: on every announced change that agents care
// about, serialised once per broadcast however many agents get it.
import { WebSocket } from 'ws';
import type { ControlHub, Section } from './hub.js';

export interface Recipient {
  readonly ws: WebSocket;
  readonly greeted: boolean;
}

export class FanOut {
  private readonly onChange = (sections: ReadonlySet<Section>): void => {
    // Convergence is derived from what agents already get.
    if (sections.size === 1 && sections.has('convergence')) return;
    this.broadcast();
  };

  constructor(private readonly hub: ControlHub, private readonly recipients: () => Iterable<Recipient>) {
    hub.on('change', this.onChange);
  }

  broadcast(): void {
    let text: string | undefined;
    for (const a of this.recipients()) {
      if (!a.greeted || a.ws.readyState !== WebSocket.OPEN) continue;
      text ??= this.hub.clusterMessageJson();
      a.ws.send(text);
    }
  }

  close(): void {
    this.hub.off('change', this.onChange);
  }
}
