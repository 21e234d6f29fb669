/** caduceus help [command | config]: the command list, one command's help, or the settings table. */
import type { Command, Output } from '../args.ts';

export function usage(commands: Command[]): string {
  const rows = [...commands.map((c) => [c.usage.replace(/ \[.*$/, ''), c.summary]), ['help [<command> | config]', 'Show help for a command, or the configuration settings']];
  const width = Math.max(...rows.map(([left]) => left!.length)) + 3;
  return `Usage: caduceus <command> [options]

Commands:
${rows.map(([left, right]) => `  ${left!.padEnd(width)}${right}`).join('\n')}

Every command reads the server's settings: the YAML file named by CADUCEUS_CONFIG (or ./caduceus.yaml)
and CADUCEUS_* environment variables. Run it with the same settings as the server.
Exit status: 0 done, 1 the operation failed, 2 wrong usage or configuration.
`;
}

export function commandHelp(command: Command): string {
  return `Usage: caduceus ${command.usage}\n\n${command.help}\n`;
}

/** The usage of a command group, e.g. "caduceus user". */
export function groupUsage(group: string, commands: Command[]): string {
  return `Usage:\n${commands.map((c) => `  caduceus ${c.usage}\n      ${c.summary}`).join('\n')}\n\nRun "caduceus ${group} <command> --help" for details.\n`;
}

export async function printConfigHelp(out: Output): Promise<void> {
  const { describeSettings } = await import('@caduceus/server');
  const lines = describeSettings().map(
    (s) => `  ${s.env}  (${s.key}${s.default === undefined ? '' : `, default ${JSON.stringify(s.default)}`})\n      ${s.description}`,
  );
  out.write(`Settings: environment variables win over the configuration file (YAML, keys as in brackets),
named by CADUCEUS_CONFIG or found as ./caduceus.yaml.

${lines.join('\n')}
`);
}
