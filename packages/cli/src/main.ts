#!/usr/bin/env node
/**
 * The caduceus command: finds the command named by the first words, prints help or runs it, and turns
 * what went wrong into a message on stderr and an exit code (1: failed; 2: wrong usage or configuration).
 */
import { MatrixError } from '@caduceus/core';
import { CliError, UsageError, wantsHelp, type Command, type Io } from './args.ts';
import { describeError } from './admin.ts';
import { auditExport } from './commands/audit-export.ts';
import { auditVerify } from './commands/audit-verify.ts';
import { backupCreate } from './commands/backup-create.ts';
import { backupRestore } from './commands/backup-restore.ts';
import { backupVerify } from './commands/backup-verify.ts';
import { commandHelp, groupUsage, printConfigHelp, usage } from './commands/help.ts';
import { adminApiCommands } from './commands/admin-api.ts';
import { registrationTokenCreate } from './commands/registration-token-create.ts';
import { start } from './commands/start.ts';
import { userCreate } from './commands/user-create.ts';
import { userRoles } from './commands/user-roles.ts';

const commands: Command[] = [start, userCreate, userRoles, registrationTokenCreate, backupCreate, backupVerify, backupRestore, auditVerify, auditExport, ...adminApiCommands];

const find = (words: string[]) => commands.find((c) => c.name.every((word, i) => words[i] === word));
const inGroup = (group: string | undefined) => commands.filter((c) => c.name.length > 1 && c.name[0] === group);

async function main(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(usage(commands));
    return 2;
  }
  if (first === 'help' || first === '--help' || first === '-h') return help(rest, io);

  const command = find(argv);
  if (!command) {
    const group = inGroup(first);
    if (group.length > 0) {
      if (argv.length === 1 || wantsHelp(argv.slice(1, 2))) {
        (argv.length === 1 ? io.stderr : io.stdout).write(groupUsage(first, group));
        return argv.length === 1 ? 2 : 0;
      }
      io.stderr.write(`caduceus: unknown command "${first} ${argv[1]}"\n\n${groupUsage(first, group)}`);
      return 2;
    }
    io.stderr.write(`caduceus: unknown command "${first}"\n\n${usage(commands)}`);
    return 2;
  }

  const args = argv.slice(command.name.length);
  if (wantsHelp(args)) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    await command.run(args, io);
    return 0;
  } catch (err) {
    return report(err, command, io);
  }
}

async function help(topic: string[], io: Io): Promise<number> {
  if (topic.length === 0) {
    io.stdout.write(usage(commands));
    return 0;
  }
  if (topic.length === 1 && topic[0] === 'config') {
    await printConfigHelp(io.stdout);
    return 0;
  }
  const command = find(topic);
  if (command) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  const group = inGroup(topic[0]);
  if (group.length > 0 && topic.length === 1) {
    io.stdout.write(groupUsage(topic[0]!, group));
    return 0;
  }
  io.stderr.write(`caduceus: no help for "${topic.join(' ')}"\n\n${usage(commands)}`);
  return 2;
}

async function report(err: unknown, command: Command, io: Io): Promise<number> {
  const name = command.name.join(' ');
  if (err instanceof UsageError) {
    io.stderr.write(`caduceus ${name}: ${err.message}\nUsage: caduceus ${command.usage}\nRun "caduceus ${name} --help" for details.\n`);
    return 2;
  }
  if (err instanceof CliError) {
    if (err.message) io.stderr.write(`caduceus: ${err.message}\n`);
    return err.exitCode;
  }
  // The service's own words (e.g. the password policy); error texts never carry PHI.
  if (err instanceof MatrixError) {
    io.stderr.write(`caduceus: ${err.message}\n`);
    return 1;
  }
  // A command that fails on its configuration has already loaded the server package.
  const { ConfigError } = await import('@caduceus/server');
  if (err instanceof ConfigError) {
    io.stderr.write(`caduceus: ${err.message}\n`);
    return 2;
  }
  const debug = io.env.CADUCEUS_LOG_LEVEL === 'debug' || io.env.CADUCEUS_LOG_LEVEL === 'trace';
  io.stderr.write(`caduceus: ${name} failed: ${debug && err instanceof Error && err.stack ? err.stack : describeError(err)}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
