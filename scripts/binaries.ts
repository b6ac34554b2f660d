import { loadConfig } from '../src/config.js';
import { ensureBinaries, SERVERS, TEST_TOOLS } from './lib/binaries.js';
import { runScript, scriptLog } from './lib/cli.js';

// `npx tsx scripts/binaries.ts`: build the Temporal CLI, MinIO and the test tools (the Compose and
// Kubernetes validators) into HARVESTER_BIN_DIR, or confirm the cached builds. CI runs this
// before the tests so the build shows as its own step.
runScript('binaries', async () => {
  const log = scriptLog('binaries');
  const binaries = await ensureBinaries(loadConfig(), log, { names: [...SERVERS, ...TEST_TOOLS] });
  for (const [name, path] of Object.entries(binaries)) log(`${name}: ${path}`);
});
