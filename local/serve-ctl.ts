/**
 * The other terminal's side of the serve mode: reads its state file and talks to its control endpoint
 * (`npm run demo -- ctl …`, and `npm run ops -- … --local` / REDSTREAM_LOCAL_WORLD for the operator's clock).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlHeaders, TOKEN_VARIABLE } from './serve-auth';
import { exportLines, parseServeState, ServeState, ServeStateError, stateToken } from './serve-format';
import type { CtlRequest } from './serve-options';
import type { CtlResponse } from './serve';
import type { ServedWarehouse } from './serve-warehouse';

/** The state file of the serve mode in `dir`. */
export function serveStateFile(dir: string): string {
  return path.join(dir, 'serve.json');
}

/** Reads the state file; a missing one means no serve mode runs. */
export function readServeState(dir: string): ServeState {
  const file = serveStateFile(dir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ServeStateError(`no local world is being served (no ${file}): start one with \`npm run demo -- --serve\``);
  }
  return parseServeState(text, file);
}

/** Removes the state file in `dir` if it is this process's (at exit: a crashed serve mode must not leave one). */
export function removeOwnServeState(dir: string, pid: number): void {
  const file = serveStateFile(dir);
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: unknown }).pid === pid) fs.rmSync(file, { force: true });
  } catch {
    // none, or not ours to judge
  }
}

/** An answer of the control endpoint that refused the caller: say what to do. */
async function refusal(control: string, res: Response): Promise<ServeStateError | undefined> {
  if (res.status !== 401 && res.status !== 415) return undefined;
  const body = (await res.json().catch(() => ({}))) as { message?: unknown };
  const hint = res.status === 401 ? ` (is ${TOKEN_VARIABLE} from this serve mode's export lines set? \`eval "$(npm run -s demo -- ctl env)"\` sets it)` : '';
  return new ServeStateError(`the local world's control endpoint ${control} refused the request (HTTP ${res.status}): ${String(body.message ?? '')}${hint}`);
}

/** What `GET /state` answers. */
export interface ControlState {
  readonly environment: string;
  /** The operator's clock skew, ms (ahead when positive). */
  readonly clockSkewMs: number;
  readonly faults: readonly string[];
  /** The warehouse (PGlite in the serve process) that `POST /warehouse/sql` reaches. */
  readonly warehouse: ServedWarehouse;
}

/** Asks the control endpoint for its state; a serve mode that does not answer is an error naming what to do. */
export async function controlState(control: string, token: string): Promise<ControlState> {
  let res: Response;
  try {
    res = await fetch(`${control}/state`, { headers: controlHeaders(token), signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new ServeStateError(`the local world's control endpoint ${control} does not answer (${(err as Error).message}): is \`npm run demo -- --serve\` still running?`);
  }
  const refused = await refusal(control, res);
  if (refused) throw refused;
  const body = (await res.json()) as Partial<ControlState>;
  if (!res.ok || typeof body.clockSkewMs !== 'number' || typeof body.warehouse?.region !== 'string' || typeof body.warehouse.schema !== 'string') {
    throw new ServeStateError(`the local world's control endpoint ${control} answered ${res.status} without a state`);
  }
  return { environment: String(body.environment), clockSkewMs: body.clockSkewMs, faults: body.faults ?? [], warehouse: { region: body.warehouse.region, schema: body.warehouse.schema } };
}

/** Sends one request; resolves to the endpoint's answer (a refusal is `ok: false`, not an exception). */
export async function sendCtl(control: string, token: string, request: CtlRequest): Promise<CtlResponse> {
  let res: Response;
  try {
    res = await fetch(`${control}/ctl`, {
      method: 'POST',
      headers: controlHeaders(token),
      body: JSON.stringify(request),
      // verify waits for replication and the warehouse (bounded by the serve mode at 2 × 60 s).
      signal: AbortSignal.timeout(150_000),
    });
  } catch (err) {
    throw new ServeStateError(`the local world's control endpoint ${control} does not answer (${(err as Error).message}): is \`npm run demo -- --serve\` still running?`);
  }
  const refused = await refusal(control, res);
  if (refused) return { ok: false, message: refused.message };
  const body = (await res.json()) as Partial<CtlResponse>;
  return { ok: res.ok && body.ok === true, message: String(body.message ?? `HTTP ${res.status}`) };
}

/** `ctl env`: the export lines of a serve mode that answers. */
export async function envLines(dir: string): Promise<string[]> {
  const state = readServeState(dir);
  await controlState(state.control, stateToken(state));
  return exportLines(state);
}
