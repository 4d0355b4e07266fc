/**
 * Who may use the serve mode's control endpoint (HTTP on 127.0.0.1; it changes the world and runs SQL in the
 * warehouse). Listening on loopback keeps other machines out, not a web page in the user's browser, which can send a
 * "simple" cross-site POST (text/plain, no custom header) to any local port it guesses. So every request must carry
 * the random token the serve mode made at start (`Authorization: Bearer …`, REDSTREAM_LOCAL_WORLD_TOKEN, in the state
 * file with mode 0600), which a page cannot read, and a POST must say `Content-Type: application/json`, which a page
 * cannot send without a CORS preflight that this endpoint never answers.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** The variable that carries the token to `npm run ops` (next to REDSTREAM_LOCAL_WORLD). */
export const TOKEN_VARIABLE = 'REDSTREAM_LOCAL_WORLD_TOKEN';

/** A new token: 128 random bits, hex. */
export function newControlToken(): string {
  return randomBytes(16).toString('hex');
}

/** The headers a client of the control endpoint sends (POST bodies are JSON). */
export function controlHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

export interface ControlRequestHead {
  readonly method: string | undefined;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
}

/** Why a request is refused (status and message), or undefined when it may go on. */
export function refuseControlRequest(head: ControlRequestHead, token: string): { status: 401 | 415; message: string } | undefined {
  const presented = /^Bearer (\S+)$/.exec(head.authorization ?? '')?.[1];
  if (presented === undefined || !sameToken(presented, token)) {
    return {
      status: 401,
      message: `the control endpoint needs the serve mode's token: send "Authorization: Bearer <${TOKEN_VARIABLE}>" (the export lines of \`npm run demo -- ctl env\` set it)`,
    };
  }
  if (head.method === 'POST') {
    const mediaType = (head.contentType ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json') {
      return { status: 415, message: `a POST to the control endpoint must be Content-Type: application/json (got ${head.contentType === undefined ? 'none' : JSON.stringify(head.contentType)})` };
    }
  }
  return undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
