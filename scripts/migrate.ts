import { loadConfig, redactUrlPassword } from '../src/config.js';
import { ensureDatabase, migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { reachOrExit } from '../src/startup.js';
import { runScript, scriptLog } from './lib/cli.js';

// `npm run migrate`: create the database if needed and apply pending migrations to DATABASE_SCHEMA.
runScript('migrate', async () => {
  const log = scriptLog('migrate');
  const config = loadConfig();
  // The first connection waits for Postgres (a container started beside it may still be coming up).
  await reachOrExit(
    { name: 'Postgres', setting: 'DATABASE_URL', target: redactUrlPassword(config.DATABASE_URL), check: () => ensureDatabase(config.DATABASE_URL, log) },
    { log: createLogger(config, 'migrate'), timeoutSeconds: config.STARTUP_TIMEOUT_SECONDS },
  );
  await migrate({ databaseUrl: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, log });
});
