/** Runs the server in the foreground until SIGINT/SIGTERM, printing where it listens. */
import { loadConfig, ConfigError, type Config } from './config/config.ts';
import { applyYoungGenerationSize } from './young-generation.ts';

function banner(config: Config, url: string, adminCount: number): string {
  const lines = [
    `Caduceus homeserver for ${config.serverName} is listening on ${url}`,
    `  database: ${config.database.kind === 'sqlite' ? `SQLite at ${config.database.path}` : 'PostgreSQL'}`,
    `  registration: ${config.registration}`,
  ];
  if (config.registration === 'open') {
    lines.push('', '  WARNING: open registration lets anyone create an account. Use it only for development and testing.');
  }
  if (config.serverName === 'localhost') {
    lines.push('', '  Note: server name "localhost" is for trying things out; set CADUCEUS_SERVER_NAME before real use.');
  }
  if (adminCount === 0) {
    lines.push('', '  No administrator exists yet. Create the first one with:', '    npx caduceus user create <name> --admin');
  }
  return lines.join('\n');
}

export async function runServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`caduceus: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  // Before anything is opened: this may replace the process with one whose heap is sized for the load.
  applyYoungGenerationSize(config.gcSemiSpaceMb, env);
  // Loaded only now, so a process that is replaced above has not loaded the whole server for nothing.
  const { startServer } = await import('./server.ts');
  const server = await startServer(config);
  console.log(banner(config, server.url, await server.storage.users.countAdmins()));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.app.log.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
