/**
 * The size of V8's young generation, where a server under load allocates almost everything it
 * allocates (each request's objects, each /sync answer) and where it collects most often.
 *
 * A collection of the young generation ("scavenge") stops the JavaScript thread for as long as it
 * takes to copy what is still alive — mostly the state of the long-polls being held, about the same
 * however large the generation is. With Node's default (32 MiB semi-spaces here) a server fanning
 * messages out to 1,000 long-polls scavenged every ~200 ms, and so often that request state which
 * lived a few hundred milliseconds was promoted to the old generation, whose mark-compact pauses
 * (12–25 ms) then made the delivery tail. Larger semi-spaces mean fewer stops of the same length, and
 * far less promoted; see docs/benchmarks.md, pass eight.
 *
 * V8 sizes the heap before any JavaScript runs, so the setting is applied by replacing the process
 * with the same command plus `--max-semi-space-size` (`execve`: same process id, so supervisors,
 * signals and `kill -9` see no difference). The space grows only when the server allocates that
 * fast; an idle server keeps it small. It applies to worker threads too (V8's flags are per process).
 */

/** Whether the running process already has a semi-space size, from its command line or NODE_OPTIONS. */
export function semiSpaceSizeChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return given.some((arg) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg));
}

/**
 * Re-executes this process with `--max-semi-space-size=<semiSpaceMb>` unless the size is already
 * chosen (by the operator or a previous execution) or `semiSpaceMb` is 0. Returns only when nothing
 * needs to change, or where the platform cannot replace a process (Windows): then V8's default stays.
 */
export function applyYoungGenerationSize(semiSpaceMb: number, env: NodeJS.ProcessEnv = process.env): void {
  if (semiSpaceMb === 0 || semiSpaceSizeChosen(process.execArgv, env.NODE_OPTIONS)) return;
  if (typeof process.execve !== 'function') return;
  const args = [process.execPath, `--max-semi-space-size=${semiSpaceMb}`, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(process.execPath, args, env as Record<string, string>);
  } catch (err) {
    // Not worth refusing to start over: the server runs, with V8's default young generation.
    console.error(`caduceus: could not apply gc_semi_space_mb (${(err as Error).message}); running with Node's default young generation`);
  }
}
