/** `npm run ops -- failback`: the same switch back to the primary, refused until reverse replication has caught up. */
import { defineCommand } from '../context';
import { runSwitch, SWITCH_OPTIONS, SWITCH_USAGE } from '../switch-command';

export const USAGE = `failback [options]
  --to REGION                 target Region (default: the primary)
${SWITCH_USAGE}
  --force                     skip the catch-up guard`;

export const failbackCommand = defineCommand({
  name: 'failback',
  summary: 'switch back to the primary Region; refused until reverse replication has caught up',
  usage: USAGE,
  options: SWITCH_OPTIONS,
  run: (args, deps) => runSwitch('failback', args, deps),
});
