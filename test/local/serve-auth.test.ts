import { controlHeaders, newControlToken, refuseControlRequest } from '../../local/serve-auth';

const TOKEN = 'a'.repeat(32);
const ok = { authorization: `Bearer ${TOKEN}`, contentType: 'application/json' };

test('a request with the token and JSON goes on', () => {
  expect(refuseControlRequest({ method: 'POST', ...ok }, TOKEN)).toBeUndefined();
  expect(refuseControlRequest({ method: 'POST', ...ok, contentType: 'Application/JSON; charset=utf-8' }, TOKEN)).toBeUndefined();
  expect(refuseControlRequest({ method: 'GET', authorization: ok.authorization, contentType: undefined }, TOKEN)).toBeUndefined();
});

test.each<[string, string | undefined]>([
  ['no token', undefined],
  ['a wrong token', `Bearer ${'b'.repeat(32)}`],
  ['a prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`],
  ['another scheme', `Basic ${TOKEN}`],
  ['an empty bearer', 'Bearer '],
])('%s: 401, on GET and POST', (_name, authorization) => {
  for (const method of ['GET', 'POST']) {
    const r = refuseControlRequest({ method, authorization, contentType: 'application/json' }, TOKEN);
    expect(r?.status).toBe(401);
    expect(r?.message).toContain('REDSTREAM_LOCAL_WORLD_TOKEN');
  }
});

test.each<[string | undefined]>([['text/plain'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x'], [undefined]])(
  'a POST with Content-Type %s: 415 (what a cross-site form or fetch without preflight can send)',
  (contentType) => {
    expect(refuseControlRequest({ method: 'POST', authorization: ok.authorization, contentType }, TOKEN)?.status).toBe(415);
  },
);

test('the token is checked before the content type (nothing is said to a caller without it)', () => {
  expect(refuseControlRequest({ method: 'POST', authorization: undefined, contentType: 'text/plain' }, TOKEN)?.status).toBe(401);
});

test('tokens are fresh and 128-bit; the client headers pass the check', () => {
  const t = newControlToken();
  expect(t).toMatch(/^[0-9a-f]{32}$/);
  expect(newControlToken()).not.toBe(t);
  const h = controlHeaders(t);
  expect(refuseControlRequest({ method: 'POST', authorization: h.authorization, contentType: h['content-type'] }, t)).toBeUndefined();
});
