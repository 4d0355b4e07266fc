/** `npm run ops -- failover --to REGION`: the fenced switch of DESIGN.md, "Failover". */
import { defineCommand } from '../context';
import { runSwitch, SWITCH_OPTIONS, SWITCH_USAGE } from '../switch-command';

export const USAGE = `failover --to REGION [options]
  --to REGION                 target Region
${SWITCH_USAGE}
  --force                     take over or redirect a switch under way, go on past unreachable replicas`;

export const failoverCommand = defineCommand({
  name: 'failover',
  summary: 'fenced switch of the streams to REGION (waits for every replica and in-flight forwarding)',
  usage: USAGE,
  options: SWITCH_OPTIONS,
  run: (args, deps) => runSwitch('failover', args, deps),
});
