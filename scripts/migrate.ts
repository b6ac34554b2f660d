import { loadConfig } from '../src/config.js';
import { ensureDatabase, migrate } from '../src/db/migrate.js';
import { runScript, scriptLog } from './lib/cli.js';

// `npm run migrate`: create the database if needed and apply pending migrations to DATABASE_SCHEMA.
runScript('migrate', async () => {
  const log = scriptLog('migrate');
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL, log);
  await migrate({ databaseUrl: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, log });
});
