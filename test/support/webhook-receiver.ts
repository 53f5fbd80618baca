import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the receiver got. */
export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  time: number;
}

/** How the receiver answers a request: a status (and headers), or never (`hang`). */
export type Answer = { status: number; headers?: Record<string, string> } | "hang";

/** A real HTTP server on loopback that records every webhook and answers as told. */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Requests being held open by `hang` answers right now. */
  hanging(): number;
  /** Answers every hanging request with `status`. */
  releaseHanging(status: number): void;
  close(): Promise<void>;
}

/** Starts a receiver; `answer` decides each response from the request and its 0-based number. */
export async function startWebhookReceiver(
  answer: (request: ReceivedWebhook, index: number) => Answer = () => ({ status: 200 }),
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const held = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      const request = {
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body,
        time: Date.now(),
      };
      received.push(request);
      const decided = answer(request, received.length - 1);
      if (decided === "hang") {
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      }
      res.writeHead(decided.status, decided.headers).end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    hanging: () => held.size,
    releaseHanging(status) {
      for (const res of held) res.writeHead(status).end();
      held.clear();
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
