import { loadConfig } from '../src/config.js';
import { ensureBinaries } from './lib/binaries.js';
import { runScript, scriptLog } from './lib/cli.js';

// `npx tsx scripts/binaries.ts`: build the Temporal CLI and MinIO into HARVESTER_BIN_DIR, or
// confirm the cached builds (CI runs this before the tests so the build shows as its own step).
runScript('binaries', async () => {
  const log = scriptLog('binaries');
  const binaries = await ensureBinaries(loadConfig(), log);
  for (const [name, path] of Object.entries(binaries)) log(`${name}: ${path}`);
});
