/**
 * What every command shares: its shape, the streams it talks to, argument parsing with clear
 * messages, and the errors that decide the exit code (2: called wrongly or misconfigured; 1: failed).
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A readable stream that may be a terminal (process.stdin, or a stand-in in tests). */
export interface Input extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface Output {
  write(text: string): unknown;
}

/** The process as a command sees it; results go to stdout, prompts and notes to stderr. */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: Input;
  stdout: Output;
  stderr: Output;
}

export interface Command {
  /** The words that name it, e.g. ['user', 'create']. */
  name: string[];
  /** One line for the command list. */
  summary: string;
  /** The synopsis after "caduceus", e.g. "user create <localpart> [--admin]". */
  usage: string;
  /** The text `--help` prints below the synopsis. */
  help: string;
  run(args: string[], io: Io): Promise<void>;
}

/** The command was called wrongly; the caller prints the command's usage and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the user can act on, printed as its message alone. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** True when the arguments ask for help (before any "--"). */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** node:util parseArgs in strict mode, with its errors turned into UsageErrors that read well. */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    const option = /'(-[^' ]+)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw new UsageError(`unknown option ${option}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
      if (message.includes('ambiguous')) throw new UsageError(`${option} needs a value (write ${option}=VALUE for a value that starts with "-")`);
      throw new UsageError(message.includes('argument missing') ? `${option} needs a value` : `${option} takes no value`);
    }
    throw new UsageError(message);
  }
}

/** Exactly `names.length` positional arguments, named in the message when missing or extra. */
export function expectPositionals(positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) throw new UsageError(`missing ${names.slice(positionals.length).map((n) => `<${n}>`).join(' ')}`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument "${positionals[names.length]}"`);
  return positionals;
}

export function parsePositiveInteger(flag: string, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number (got "${value}")`);
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30m", "12h", "7d", "2w", "1h30m" → milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const wrong = () => new UsageError(`${flag} must be a duration such as 30m, 12h or 7d (got "${value}")`);
  if (!/^(\d+[smhdw])+$/.test(value)) throw wrong();
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)([smhdw])/g)) ms += Number(amount) * UNIT_MS[unit as string]!;
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw wrong();
  return ms;
}

/** A result: its id alone on the first line (so `| head -1` gives it to scripts), then indented details. */
export function printResult(out: Output, id: string, details: [label: string, value: string][]): void {
  out.write(`${id}\n${details.map(([label, value]) => `  ${label}: ${value}\n`).join('')}`);
}
