/**
 * Reading a password without it ever being a command-line argument (which `ps` shows to everyone):
 * the first line of stdin with --password-stdin, otherwise a prompt without echo on a terminal.
 */
import { CliError, UsageError, type Input, type Output } from './args.ts';

/** Longer than any password the server accepts; bounds what we buffer from a pipe. */
const MAX_LINE_CHARS = 64 * 1024;

/** Ctrl-C at a prompt (raw mode swallows SIGINT): exit quietly with the shell's usual 130. */
export class Interrupted extends CliError {
  constructor() {
    super('', 130);
  }
}

export interface PasswordOptions {
  /** --password-stdin was given. */
  fromStdin: boolean;
  /** e.g. "Password for @alice:example.org: " */
  prompt: string;
}

export async function readPassword(input: Input, prompts: Output, options: PasswordOptions): Promise<string> {
  if (input.isTTY && input.setRawMode) {
    const first = await promptHidden(input, prompts, options.prompt);
    // Typed blind, so ask twice unless the caller said the password comes from stdin.
    if (options.fromStdin) return first;
    const second = await promptHidden(input, prompts, 'Repeat the password: ');
    if (first !== second) throw new CliError('the two passwords differ; nothing was changed');
    return first;
  }
  if (!options.fromStdin) {
    throw new UsageError('no password: stdin is not a terminal, so there is no one to prompt. Pipe the password in on the first line of stdin and add --password-stdin');
  }
  const line = await readFirstLine(input);
  if (line === undefined) throw new CliError('--password-stdin was given but stdin was empty', 2);
  return line;
}

/** The first line of a stream, without its line ending; undefined when the stream ends with no data. */
export function readFirstLine(input: Input): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let received = false;
    const finish = (error: Error | undefined, line?: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: string | Buffer) => {
      received = true;
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline !== -1) finish(undefined, buffered.slice(0, newline).replace(/\r$/, ''));
      else if (buffered.length > MAX_LINE_CHARS) finish(new CliError('the first line of stdin is too long to be a password'));
    };
    const onEnd = () => finish(undefined, received ? buffered.replace(/\r$/, '') : undefined);
    const onError = (err: Error) => finish(new CliError(`cannot read stdin: ${err.message}`));
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}

/** Prompts on a terminal with echo off: Enter ends, Backspace and Ctrl-U edit, Ctrl-C aborts. */
export function promptHidden(input: Input, prompts: Output, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (error?: Error, typedAhead = '') => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      // Keys typed (or pasted) after Enter belong to the next prompt.
      if (typedAhead) input.unshift(typedAhead);
      prompts.write('\n');
      if (error) reject(error);
      else resolve(chars.join(''));
    };
    const onData = (chunk: string | Buffer) => {
      const text = chunk.toString();
      if (text.startsWith('\x1b')) return; // arrow keys and other escape sequences
      let offset = 0;
      for (const ch of text) {
        offset += ch.length;
        if (ch === '\r' || ch === '\n') {
          const rest = text.slice(offset);
          return finish(undefined, ch === '\r' ? rest.replace(/^\n/, '') : rest);
        }
        if (ch === '\x03') return finish(new Interrupted());
        if (ch === '\x04') {
          if (chars.length === 0) return finish(new CliError('no password entered'));
        } else if (ch === '\x7f' || ch === '\b') chars.pop();
        else if (ch === '\x15') chars = [];
        else if (ch >= ' ') chars.push(ch);
      }
    };
    prompts.write(prompt);
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}
