/** caduceus start: the homeserver in the foreground until Ctrl-C / SIGTERM. */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';

export const start: Command = {
  name: ['start'],
  summary: 'Run the homeserver in the foreground',
  usage: 'start',
  help: `Runs the homeserver until it receives SIGINT (Ctrl-C) or SIGTERM, logging to stdout.
Settings come from the configuration file and CADUCEUS_* variables (see "caduceus help config").`,
  async run(args, io) {
    const { positionals } = parseCommandArgs(args, {});
    expectPositionals(positionals, []);
    // Only the start-up module: the server may replace this process first (young-generation.ts), and loads the rest after.
    const { runServer } = await import('@caduceus/server/run');
    await runServer(io.env);
  },
};
