import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { CliError, UsageError } from '../src/args.ts';
import { Interrupted, readPassword } from '../src/password.ts';

/** A stand-in terminal: records raw-mode switches; `typed` arrives as keystrokes. */
function terminal(typed: string[]) {
  const modes: boolean[] = [];
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (mode: boolean) => modes.push(mode) });
  let shown = '';
  const prompts = { write: (text: string) => (shown += text) };
  // One keystroke batch per tick, as a person types.
  void (async () => {
    for (const keys of typed) {
      await new Promise((resolve) => setImmediate(resolve));
      input.write(keys);
    }
  })();
  return { input, prompts, modes, shown: () => shown };
}

describe('reading the password', () => {
  test('on a terminal it is asked twice with echo off, and the terminal is restored', async () => {
    const tty = terminal(['secret', ' words\r', 'secret words\r']);
    const password = await readPassword(tty.input, tty.prompts, { fromStdin: false, prompt: 'Password: ' });
    assert.equal(password, 'secret words');
    assert.equal(tty.shown(), 'Password: \nRepeat the password: \n');
    assert.deepEqual(tty.modes, [true, false, true, false]);
  });

  test('keys typed ahead in one burst go to the second prompt, and Backspace and Ctrl-U edit', async () => {
    const tty = terminal(['wrong\x15pass phrase!\x7f\rpass phrase\r']);
    assert.equal(await readPassword(tty.input, tty.prompts, { fromStdin: false, prompt: 'Password: ' }), 'pass phrase');
  });

  test('two different entries are refused', async () => {
    const tty = terminal(['one password\r', 'another one\r']);
    await assert.rejects(readPassword(tty.input, tty.prompts, { fromStdin: false, prompt: 'Password: ' }), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, /differ/);
      return true;
    });
  });

  test('Ctrl-C at the prompt interrupts with exit code 130', async () => {
    const tty = terminal(['half\x03']);
    await assert.rejects(readPassword(tty.input, tty.prompts, { fromStdin: false, prompt: 'Password: ' }), (err: unknown) => {
      assert.ok(err instanceof Interrupted);
      assert.equal(err.exitCode, 130);
      return true;
    });
    assert.deepEqual(tty.modes, [true, false]);
  });

  test('from a pipe it takes the first line, without its line ending', async () => {
    const input = new PassThrough();
    input.end('pass phrase\r\nsecond line\n');
    assert.equal(await readPassword(input, { write: () => {} }, { fromStdin: true, prompt: '' }), 'pass phrase');
  });

  test('from a pipe without --password-stdin it refuses', async () => {
    const input = new PassThrough();
    input.end('pass phrase\n');
    await assert.rejects(readPassword(input, { write: () => {} }, { fromStdin: false, prompt: '' }), UsageError);
  });
});
