/**
 * The local handlers are bundled for the deployed runtime: every Lambda runtime and esbuild target named in lib/
 * matches local/local-function.ts's LAMBDA_BUNDLE_TARGET, so a runtime upgrade there fails here until the local
 * bundles follow.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAMBDA_BUNDLE_TARGET } from '../../local/local-function';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every deployed Node.js runtime and bundle target in lib/ is the local bundle target', () => {
  const found = new Set<string>();
  for (const file of sources(path.resolve(__dirname, '../../lib'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/Runtime\.NODEJS_(\d+)_X/g)) found.add(`node${m[1]}`);
    for (const m of text.matchAll(/target: '(node\d+)'/g)) found.add(m[1]);
  }
  expect(found.size).toBeGreaterThan(0);
  expect([...found]).toEqual([LAMBDA_BUNDLE_TARGET]);
});
