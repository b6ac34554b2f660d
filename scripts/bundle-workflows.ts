import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleSources } from '../src/worker/create.js';
import { runScript, scriptLog } from './lib/cli.js';

// `npm run build:workflows [-- <out file>]`: bundle the workflows and their interceptors once,
// ahead of time, for a worker started with WORKFLOW_BUNDLE_PATH (the container image does this).
// A worker without it bundles the sources itself at every start, which takes seconds and needs
// the build tools (webpack, swc) that a production install leaves out.
runScript('bundle-workflows', async () => {
  const log = scriptLog('bundle-workflows');
  const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const started = Date.now();
  log('bundling src/workflows…');
  const { code } = await bundleWorkflowCode(workflowBundleSources());
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, code);
  log(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
