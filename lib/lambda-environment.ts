/**
 * Lambda's limit on a function's environment, checked at synth for the functions that carry the streaming views'
 * statements in theirs (the merge runner, the erasure's scheduled step). Pure.
 */
import { Token } from 'aws-cdk-lib';

/** Lambda's limit on all of a function's environment variables together (Lambda quotas). */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4096;

/** What an unresolved token is counted as: they resolve to names and ARNs, well under this. */
const TOKEN_BYTES = 128;

/**
 * Throws when `environment` would exceed {@link LAMBDA_ENVIRONMENT_MAX_BYTES}: `the <what>'s environment would be
 * about N bytes, over Lambda's 4096 (<why>); fix: <fix>`. Keys and values count; a token counts
 * {@link TOKEN_BYTES} unless `resolvedBytes` says how long it resolves to.
 */
export function checkLambdaEnvironmentSize(
  environment: Readonly<Record<string, string>>,
  message: { readonly what: string; readonly why: string; readonly fix: string },
  resolvedBytes: Readonly<Record<string, number>> = {},
): void {
  const size = Object.entries(environment).reduce(
    (n, [k, v]) => n + k.length + (resolvedBytes[k] ?? (Token.isUnresolved(v) ? TOKEN_BYTES : Buffer.byteLength(v))),
    0,
  );
  if (size > LAMBDA_ENVIRONMENT_MAX_BYTES) {
    throw new Error(`the ${message.what}'s environment would be about ${size} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_MAX_BYTES} (${message.why}); fix: ${message.fix}`);
  }
}
