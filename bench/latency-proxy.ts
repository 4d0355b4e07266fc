/**
 * An HTTP proxy that adds a per-request latency in front of a local AWS JSON endpoint (the Kinesis Region router),
 * to make the local stand-ins resemble the deployed topology: a PutRecords from us-east-1 to a stream in us-west-2
 * pays a cross-Region round trip, one to a stream in its own Region does not. Half the delay is added before the
 * request is forwarded and half before the response is returned, so a record lands (and gets its arrival time)
 * half-way through the round trip, as on AWS.
 *
 * The local service's own time (kinesalite writing the records, on a shared machine) comes on top of the injected
 * round trip by default (`add`). The published round trip already holds the service's time on AWS (lib/cost/latencies.ts:
 * ~10 ms of the 80), so `floor` counts the local service time against the second half instead: a call then takes
 * max(round trip, round trip / 2 + local service time) — never less than the published figure, and a slow stand-in
 * is not charged twice.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a request is, as the proxy sees it. */
export interface ProxiedRequest {
  /** Region of the SigV4 credential scope. */
  readonly region: string;
  /** The action, from `X-Amz-Target` (e.g. `PutRecords`). */
  readonly action: string;
}

/** How the injected round trip combines with the local service's own time. */
export type LatencyModel = 'add' | 'floor';

export interface LatencyProxy {
  readonly endpoint: string;
  /** Requests seen, by `region:action`. */
  readonly counts: Map<string, number>;
  /** The local service's time (forward to response) of each request, by `region:action`, in ms. */
  readonly serviceMs: Map<string, number[]>;
  stop(): Promise<void>;
}

const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/[a-z0-9-]+\//;
const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/** Starts the proxy on 127.0.0.1; `roundTripMs` gives each request's added round trip in milliseconds. */
export async function startLatencyProxy(upstream: string, roundTripMs: (req: ProxiedRequest) => number, model: LatencyModel = 'add'): Promise<LatencyProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const counts = new Map<string, number>();
  const serviceMs = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const info: ProxiedRequest = {
        region: CREDENTIAL_SCOPE.exec(String(req.headers.authorization ?? ''))?.[1] ?? '',
        action: String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '',
      };
      const key = `${info.region}:${info.action}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const delay = roundTripMs(info);
      void (async () => {
        await sleep(delay / 2);
        const forwardedAt = performance.now();
        const out = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, agent },
          (up) => {
            const parts: Buffer[] = [];
            up.on('data', (c: Buffer) => parts.push(c));
            up.on('end', () => {
              const service = performance.now() - forwardedAt;
              const list = serviceMs.get(key) ?? [];
              list.push(service);
              serviceMs.set(key, list);
              void sleep(model === 'floor' ? Math.max(0, delay / 2 - service) : delay / 2).then(() => {
                res.writeHead(up.statusCode ?? 502, up.headers);
                res.end(Buffer.concat(parts));
              });
            });
          },
        );
        out.on('error', (err) => {
          res.writeHead(502, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ __type: 'InternalFailure', message: `latency proxy: ${err.message}` }));
        });
        out.end(body);
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    serviceMs,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
