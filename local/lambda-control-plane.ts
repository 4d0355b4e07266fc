/**
 * A local stand-in for the Lambda control plane of every Region: one HTTP endpoint (`AWS_ENDPOINT_URL_LAMBDA`) speaking
 * the subset of the Lambda REST API that fencing a Region's replicator uses, routed by the Region in each request's
 * SigV4 credential scope:
 *
 * | operation                  | request                                                        |
 * |----------------------------|----------------------------------------------------------------|
 * | PutFunctionConcurrency     | PUT    /2017-10-31/functions/{FunctionName}/concurrency        |
 * | GetFunctionConcurrency     | GET    /2019-09-30/functions/{FunctionName}/concurrency        |
 * | DeleteFunctionConcurrency  | DELETE /2017-10-31/functions/{FunctionName}/concurrency        |
 * | ListEventSourceMappings    | GET    /2015-03-31/event-source-mappings?FunctionName=&EventSourceArn= |
 * | GetEventSourceMapping      | GET    /2015-03-31/event-source-mappings/{UUID}                |
 * | UpdateEventSourceMapping   | PUT    /2015-03-31/event-source-mappings/{UUID} (`Enabled` only) |
 *
 * The functions and mappings are the local ones (`local-function.ts`, `event-source-mapping.ts`), registered by the
 * pipeline; what the API changes takes effect on them: reserved concurrency 0 throttles the function (the mapping
 * invokes nothing and holds its records; an invocation in flight finishes), `Enabled: false` stops the mapping.
 * `FunctionName` may be a name, a full ARN or a partial ARN, as in the API.
 *
 * Faults: `setRegionDown` (the Region's control plane answers 503, as during a Regional outage: the data plane, its
 * mappings and functions, keeps running) and `setDelay` (every call of the Region waits first: a slow control plane).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningService } from './emulators';
import type { EventSourceMapping, FunctionConcurrencyGate } from './event-source-mapping';

/** A function as the control plane knows it. */
export interface ControlledFunction {
  readonly functionName: string;
  readonly functionArn: string;
}

export interface LambdaControlPlane extends RunningService {
  /**
   * Registers a function of `region`; returns its concurrency gate, to pass as the `concurrency` of the mappings that
   * invoke it (so PutFunctionConcurrency applies to them).
   */
  registerFunction(region: string, fn: ControlledFunction): FunctionConcurrencyGate;
  /** Registers a mapping of `region` (its function must be registered). */
  registerMapping(region: string, mapping: EventSourceMapping): void;
  /** Takes a Region's control plane down (503 to every call) or brings it back. */
  setRegionDown(region: string, down: boolean): void;
  /** Makes every call to a Region's control plane wait `ms` before it is answered (0: none). */
  setDelay(region: string, ms: number): void;
  /** A function's reserved concurrency; undefined when none is set. */
  reservedConcurrency(region: string, functionName: string): number | undefined;
  /** Requests answered or refused so far, per `region:operation`. */
  readonly requestCounts: Map<string, number>;
}

/** Thrown for misuse of the in-process API (unknown Region or function). */
export class LambdaControlPlaneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LambdaControlPlaneError';
  }
}

interface FunctionEntry {
  readonly fn: ControlledFunction;
  reserved: number | undefined;
  inFlight: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const CREDENTIAL = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/lambda\//;
/** Lambda's limit on ReservedConcurrentExecutions is the account's concurrency; 1000 is the default quota. */
const MAX_RESERVED = 1000;

/** `my-fn`, `arn:aws:lambda:r:acct:function:my-fn[:qualifier]` or `acct:function:my-fn` → `my-fn`. */
function functionNameOf(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  const i = parts.indexOf('function');
  return i >= 0 && parts[i + 1] ? parts[i + 1] : nameOrArn;
}

/** Starts the control plane described in the module comment, for `regions`. */
export async function startLambdaControlPlane(options: { regions: readonly string[] }): Promise<LambdaControlPlane> {
  const regions = [...options.regions];
  const functions = new Map<string, Map<string, FunctionEntry>>(regions.map((r) => [r, new Map()]));
  const mappings = new Map<string, Map<string, EventSourceMapping>>(regions.map((r) => [r, new Map()]));
  const down = new Set<string>();
  const delays = new Map<string, number>();
  const requestCounts = new Map<string, number>();

  const regionFunctions = (region: string): Map<string, FunctionEntry> => {
    const m = functions.get(region);
    if (!m) throw new LambdaControlPlaneError(`no local Lambda control plane for Region ${region} (Regions: ${regions.join(', ')})`);
    return m;
  };
  const findFunction = (region: string, nameOrArn: string): FunctionEntry => {
    const entry = regionFunctions(region).get(functionNameOf(decodeURIComponent(nameOrArn)));
    if (!entry) throw new ApiError(404, 'ResourceNotFoundException', `Function not found: ${nameOrArn}`);
    return entry;
  };

  const configuration = (m: EventSourceMapping): Record<string, unknown> => ({
    UUID: m.uuid,
    EventSourceArn: m.eventSourceArn,
    FunctionArn: m.functionArn,
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: Math.round(m.maximumBatchingWindowMs / 1000),
    StartingPosition: typeof m.startingPosition === 'string' ? m.startingPosition : 'AT_TIMESTAMP',
    MaximumRetryAttempts: m.retryAttempts,
    MaximumRecordAgeInSeconds: m.maxRecordAgeMs === -1 ? -1 : Math.round(m.maxRecordAgeMs / 1000),
    ParallelizationFactor: 1,
    BisectBatchOnFunctionError: false,
    FunctionResponseTypes: [...m.functionResponseTypes],
    State: m.state(),
    StateTransitionReason: 'USER_INITIATED',
    LastModified: m.lastModified().getTime() / 1000,
  });

  type Route = { method: string; pattern: RegExp; op: string };
  const routes: Route[] = [
    { method: 'PUT', pattern: /^\/2017-10-31\/functions\/([^/]+)\/concurrency$/, op: 'PutFunctionConcurrency' },
    { method: 'GET', pattern: /^\/2019-09-30\/functions\/([^/]+)\/concurrency$/, op: 'GetFunctionConcurrency' },
    { method: 'DELETE', pattern: /^\/2017-10-31\/functions\/([^/]+)\/concurrency$/, op: 'DeleteFunctionConcurrency' },
    { method: 'GET', pattern: /^\/2015-03-31\/event-source-mappings\/?$/, op: 'ListEventSourceMappings' },
    { method: 'GET', pattern: /^\/2015-03-31\/event-source-mappings\/([^/]+)$/, op: 'GetEventSourceMapping' },
    { method: 'PUT', pattern: /^\/2015-03-31\/event-source-mappings\/([^/]+)$/, op: 'UpdateEventSourceMapping' },
  ];

  function findMapping(region: string, uuid: string): EventSourceMapping {
    const m = mappings.get(region)?.get(decodeURIComponent(uuid));
    if (!m) throw new ApiError(404, 'ResourceNotFoundException', `The resource you requested does not exist. (Service: Lambda, Status Code: 404, UUID: ${uuid})`);
    return m;
  }

  function operate(region: string, op: string, param: string, query: URLSearchParams, body: Record<string, unknown>): { status: number; body?: unknown } {
    switch (op) {
      case 'PutFunctionConcurrency': {
        const entry = findFunction(region, param);
        const n = body.ReservedConcurrentExecutions;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_RESERVED) {
          throw new ApiError(400, 'InvalidParameterValueException', `ReservedConcurrentExecutions must be a whole number between 0 and ${MAX_RESERVED} (got ${JSON.stringify(n)})`);
        }
        entry.reserved = n;
        return { status: 200, body: { ReservedConcurrentExecutions: n } };
      }
      case 'GetFunctionConcurrency': {
        const entry = findFunction(region, param);
        return { status: 200, body: entry.reserved === undefined ? {} : { ReservedConcurrentExecutions: entry.reserved } };
      }
      case 'DeleteFunctionConcurrency': {
        findFunction(region, param).reserved = undefined;
        return { status: 204 };
      }
      case 'ListEventSourceMappings': {
        const fnName = query.get('FunctionName');
        const sourceArn = query.get('EventSourceArn');
        const wanted = fnName ? findFunction(region, fnName).fn.functionArn : undefined;
        const list = [...(mappings.get(region)?.values() ?? [])].filter(
          (m) => (wanted === undefined || m.functionArn === wanted) && (sourceArn === null || m.eventSourceArn === sourceArn),
        );
        return { status: 200, body: { EventSourceMappings: list.map(configuration) } };
      }
      case 'GetEventSourceMapping':
        return { status: 200, body: configuration(findMapping(region, param)) };
      case 'UpdateEventSourceMapping': {
        const m = findMapping(region, param);
        const unsupported = Object.keys(body).filter((k) => k !== 'Enabled' && k !== 'UUID');
        if (unsupported.length > 0) {
          throw new ApiError(400, 'InvalidParameterValueException', `the local control plane updates only Enabled (got ${unsupported.join(', ')})`);
        }
        if (typeof body.Enabled === 'boolean') m.setEnabled(body.Enabled);
        return { status: 202, body: configuration(m) };
      }
      default:
        throw new ApiError(400, 'InvalidParameterValueException', `unsupported operation ${op}`);
    }
  }

  const send = (res: http.ServerResponse, status: number, payload?: unknown, errorType?: string): void => {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': `local-${Date.now()}`,
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(body);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const region = CREDENTIAL.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!region || !functions.has(region)) {
      send(res, 403, { Type: 'User', message: `local Lambda control plane: no Region ${region ?? '(none in the credential scope)'} (Regions: ${regions.join(', ')})` }, 'UnrecognizedClientException');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://local');
    const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    const op = route?.op ?? `${req.method} ${url.pathname}`;
    const key = `${region}:${op}`;
    requestCounts.set(key, (requestCounts.get(key) ?? 0) + 1);
    const delay = delays.get(region) ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (down.has(region)) {
      send(res, 503, { Type: 'Service', message: `local Lambda control plane: Region ${region} is down` }, 'ServiceException');
      return;
    }
    if (!route) {
      send(res, 400, { Type: 'User', message: `local Lambda control plane: ${op} is not supported` }, 'InvalidParameterValueException');
      return;
    }
    try {
      const body = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      const param = route.pattern.exec(url.pathname)?.[1] ?? '';
      const out = operate(region, route.op, param, url.searchParams, body);
      send(res, out.status, out.body);
    } catch (err) {
      if (err instanceof ApiError) send(res, err.status, { Type: 'User', message: err.message }, err.type);
      else throw err;
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { Type: 'Service', message: `local Lambda control plane: ${String(err)}` }, 'ServiceException');
      });
    });
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

  return {
    endpoint,
    requestCounts,
    registerFunction(region, fn) {
      const entry: FunctionEntry = { fn, reserved: undefined, inFlight: 0 };
      regionFunctions(region).set(fn.functionName, entry);
      return {
        tryAcquire() {
          if (entry.reserved !== undefined && entry.inFlight >= entry.reserved) return undefined;
          entry.inFlight++;
          let released = false;
          return () => {
            if (!released) entry.inFlight--;
            released = true;
          };
        },
      };
    },
    registerMapping(region, mapping) {
      const known = [...regionFunctions(region).values()].some((e) => e.fn.functionArn === mapping.functionArn);
      if (!known) throw new LambdaControlPlaneError(`register the function ${mapping.functionArn} in ${region} before its mapping`);
      mappings.get(region)?.set(mapping.uuid, mapping);
    },
    setRegionDown(region, isDown) {
      regionFunctions(region);
      if (isDown) down.add(region);
      else down.delete(region);
    },
    setDelay(region, ms) {
      regionFunctions(region);
      if (!Number.isFinite(ms) || ms < 0) throw new LambdaControlPlaneError(`delay must be a number of milliseconds >= 0 (got ${ms})`);
      delays.set(region, ms);
    },
    reservedConcurrency: (region, functionName) => regionFunctions(region).get(functionNameOf(functionName))?.reserved,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
