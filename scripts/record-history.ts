import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { connectClient } from '../src/temporal/connection.js';

// Saves the event history of closed workflow runs into test/histories/<type>/<name>.json, where
// the replay test runs them against the current workflow code on every `npm test`.
// Usage: npm run record-history -- <workflowId> <name> [<workflowId> <name> ...]

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error('usage: npm run record-history -- <workflowId> <name> [<workflowId> <name> ...]');
  process.exit(2);
}
const config = loadConfig();
const client = await connectClient(config);
try {
  for (let i = 0; i < args.length; i += 2) {
    const [workflowId, name] = [args[i]!, args[i + 1]!];
    const handle = client.workflow.getHandle(workflowId);
    const { type, status } = await handle.describe();
    if (status.name === 'RUNNING') throw new Error(`${workflowId} is still running: record closed runs only`);
    const dir = join('test', 'histories', type);
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${name}.json`);
    await writeFile(file, `${JSON.stringify(await handle.fetchHistory(), null, 1)}\n`);
    console.log(`recorded ${workflowId} (${status.name}) → ${file}`);
  }
} finally {
  await client.connection.close();
}
