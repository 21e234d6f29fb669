/** caduceus registration-token create: a token that lets someone register (registration: token). */
import { parseCommandArgs, expectPositionals, parseDuration, parsePositiveInteger, printResult, type Command } from '../args.ts';
import { connectAdmin } from '../admin.ts';

export const registrationTokenCreate: Command = {
  name: ['registration-token', 'create'],
  summary: 'Create a registration token',
  usage: 'registration-token create [--uses N] [--expires-in DURATION] [--token TOKEN]',
  help: `Creates a registration token and prints it, with its limits. People register with it in their
Matrix client when the server runs with "registration: token" (CADUCEUS_REGISTRATION=token).

Options:
  --uses N                 how many registrations it allows (default: unlimited)
  --expires-in DURATION    how long it stays valid, e.g. 30m, 12h, 7d, 2w (default: no expiry)
  --token TOKEN            the token itself, 1-64 of A-Z a-z 0-9 . _ ~ - (default: random)

Example:
  caduceus registration-token create --uses 1 --expires-in 7d`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      uses: { type: 'string' },
      'expires-in': { type: 'string' },
      token: { type: 'string' },
    });
    expectPositionals(positionals, []);
    const usesAllowed = values.uses !== undefined ? parsePositiveInteger('--uses', values.uses) : undefined;
    const lifetimeMs = values['expires-in'] !== undefined ? parseDuration('--expires-in', values['expires-in']) : undefined;

    const admin = await connectAdmin(io.env, (text) => io.stderr.write(`${text}\n`));
    try {
      const created = await admin.createRegistrationToken({
        ...(values.token !== undefined ? { token: values.token } : {}),
        ...(usesAllowed !== undefined ? { usesAllowed } : {}),
        ...(lifetimeMs !== undefined ? { expiryTs: Date.now() + lifetimeMs } : {}),
      });
      printResult(io.stdout, created.token, [
        ['uses', created.usesAllowed === null ? 'unlimited' : String(created.usesAllowed)],
        ['expires', created.expiryTs === null ? 'never' : `${new Date(created.expiryTs).toISOString().replace(/\.\d{3}Z$/, 'Z')} (in ${values['expires-in']})`],
      ]);
      if (admin.registration !== 'token') {
        io.stderr.write(
          `note: registration is "${admin.registration}" in this configuration; the token is accepted only once the server runs with registration: token (CADUCEUS_REGISTRATION=token)\n`,
        );
      }
    } finally {
      await admin.close();
    }
  },
};
