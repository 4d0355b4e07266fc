import * as path from 'node:path';
import { inProcessFunction, LocalFunction, startWorkerFunction } from '../../local/local-function';

const entry = path.join(__dirname, 'fixtures', 'env-echo-handler.ts');

describe('startWorkerFunction', () => {
  const functions: LocalFunction[] = [];
  afterAll(async () => {
    await Promise.all(functions.map((f) => f.close()));
  });
  const start = async (props: Partial<Parameters<typeof startWorkerFunction>[0]> & { region: string }): Promise<LocalFunction> => {
    const fn = await startWorkerFunction({ entry, functionName: `fixture-${props.region}`, environment: {}, ...props });
    functions.push(fn);
    return fn;
  };

  test('each function runs with its own Region and environment, read at module scope', async () => {
    const logs: string[] = [];
    const east = await start({ region: 'us-east-1', environment: { FIXTURE_MARKER: 'east' }, onLog: (l) => logs.push(l) });
    const west = await start({ region: 'us-west-2', environment: { FIXTURE_MARKER: 'west' } });

    const [a, b] = await Promise.all([east.invoke({}), west.invoke({})]);

    expect(a).toEqual({
      kind: 'returned',
      response: expect.objectContaining({ loadedAt: 'us-east-1/east', region: 'us-east-1', functionName: 'fixture-us-east-1', remainingPositive: true, leaked: null }),
    });
    expect(b).toEqual({ kind: 'returned', response: expect.objectContaining({ loadedAt: 'us-west-2/west', region: 'us-west-2' }) });
    expect(east.functionArn).toBe('arn:aws:lambda:us-east-1:000000000000:function:fixture-us-east-1');
    // Log lines arrive asynchronously from the worker.
    for (let i = 0; i < 100 && !logs.includes('invoked in us-east-1'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs).toContain('invoked in us-east-1');
  });

  test('a warm environment is reused; concurrent invocations scale out up to maxConcurrency', async () => {
    const fn = await start({ region: 'eu-west-1', maxConcurrency: 2 });
    const first = await fn.invoke({});
    const second = await fn.invoke({});
    expect(first).toMatchObject({ response: { invocations: 1 } });
    expect(second).toMatchObject({ response: { invocations: 2 } });

    const parallel = await Promise.all([fn.invoke({ sleepMs: 200 }), fn.invoke({ sleepMs: 200 }), fn.invoke({})]);
    const counts = parallel.map((r) => (r.kind === 'returned' ? (r.response as { invocations: number }).invocations : -1)).sort();
    // Two environments: the warm one continues its count, a new one starts at 1; the third call waits for one of them.
    expect(counts).toContain(1);
    expect(counts).toContain(3);
    expect(counts).toHaveLength(3);
  });

  test('a thrown error comes back as a function error with its name', async () => {
    const fn = await start({ region: 'eu-west-2' });
    expect(await fn.invoke({ throw: 'bad batch' })).toEqual({ kind: 'error', errorType: 'FixtureError', message: 'bad batch' });
    expect(await fn.invoke({})).toMatchObject({ kind: 'returned' });
  });

  test('a failing module scope is an init error on every invocation', async () => {
    const fn = await start({ region: 'eu-central-1', environment: { FIXTURE_FAIL_INIT: 'true' } });
    const result = await fn.invoke({});
    expect(result).toEqual({ kind: 'error', errorType: 'Error', message: 'INIT failed: FIXTURE_MARKER is not set' });
    expect(await fn.invoke({})).toMatchObject({ kind: 'error', message: expect.stringContaining('INIT failed') });
  });

  test('an invocation past its timeout ends the environment; the next one starts cold', async () => {
    // 2 s: a quick invocation must not time out when a loaded machine stalls the worker's reply.
    const fn = await start({ region: 'ap-south-1', timeoutMs: 2000 });
    expect(await fn.invoke({})).toMatchObject({ response: { invocations: 1 } });
    expect(await fn.invoke({ sleepMs: 10_000 })).toEqual({ kind: 'error', errorType: 'Sandbox.Timedout', message: 'Task timed out after 2.00 seconds' });
    expect(await fn.invoke({})).toMatchObject({ response: { invocations: 1 } });
  });

  test('a module that does not bundle fails at start with its path', async () => {
    await expect(startWorkerFunction({ entry: path.join(__dirname, 'fixtures', 'missing.ts'), functionName: 'x', region: 'us-east-1', environment: {} })).rejects.toThrow(
      /cannot bundle .*missing\.ts/,
    );
  });
});

describe('inProcessFunction', () => {
  test.each([
    ['a returned value', async () => ({ batchItemFailures: [] }), { kind: 'returned', response: { batchItemFailures: [] } }],
    ['undefined', async () => undefined, { kind: 'returned', response: null }],
    [
      'a thrown error',
      async () => {
        throw new TypeError('nope');
      },
      { kind: 'error', errorType: 'TypeError', message: 'nope' },
    ],
  ])('%s', async (_name, handler, expected) => {
    expect(await inProcessFunction(handler).invoke({})).toEqual(expected);
  });
});
