import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/net.js';
import type { RunStatus } from '../src/temporal/runs.js';
import { createTestApp, operatorCall } from './support/api.js';
import { launchChromium, saveScreenshot } from './support/browser.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { type RestartableServer, startOwnTemporal } from './support/servers.js';
import { waitFor } from './support/stack.js';

// What an operator sees of a run in the Temporal Web UI, in a headless Chromium: an ingest started
// through the API is found in the UI's workflow list by its workflow id, its history shows every
// step, and the uiUrl of the status API opens that same page. The shared dev server runs headless,
// so this file runs one of its own with the UI.

/** The ingest workflow's activities, in the order it schedules them (src/workflows/ingest.ts). */
const STEPS = ['download', 'extract', 'analyse', 'persist', 'cleanup'];

let temporal: RestartableServer & { namespace: string };
let uiBase: string;
let h: Harness;
let call: ReturnType<typeof operatorCall>;
let browser: Browser;

beforeAll(async () => {
  const uiPort = await freePort();
  temporal = await startOwnTemporal({ uiPort });
  uiBase = `http://127.0.0.1:${uiPort}`;
  h = await startHarness({ configOverrides: { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_UI_URL: uiBase } });
  call = operatorCall(createTestApp(h), h);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await temporal?.remove();
});

type Completed = { workflowId: string; runId: string; status: string };

async function ingestThroughApi(key: string, body: string): Promise<Completed> {
  await h.put(key, body, 'text/plain');
  const res = await call('POST', '/api/v1/workflows/ingest?wait=60s', { bucket: h.bucket, key });
  expect(res.status).toBe(200);
  const run = (await res.json()) as Completed;
  expect(run.status).toBe('COMPLETED');
  return run;
}

it('finds an ingest run by its workflow id and shows its steps, at the uiUrl of the status API', async () => {
  // The id holds what a path must encode: "ingest:<bucket>/reports/ui check+1.txt@<etag>".
  const run = await ingestThroughApi('reports/ui check+1.txt', ARTICLE);
  const other = await ingestThroughApi('reports/other.txt', `${ARTICLE} Another document.`);
  expect(run.workflowId).toMatch(/^ingest:.+\/reports\/ui check\+1\.txt@.+$/);

  const res = await call('GET', `/api/v1/workflows/${encodeURIComponent(run.workflowId)}`);
  expect(res.status).toBe(200);
  const status = (await res.json()) as RunStatus;
  expect(status).toMatchObject({ workflowId: run.workflowId, runId: run.runId, status: 'COMPLETED' });
  expect(status.uiUrl.startsWith(`${uiBase}/namespaces/`)).toBe(true);

  // Visibility catches up with closed runs a moment later: the list must hold both before the
  // search can show that it picks out one.
  const bothIds = `WorkflowId IN ('${run.workflowId}', '${other.workflowId}') AND ExecutionStatus = 'Completed'`;
  await waitFor(async () => (await h.client.workflow.count(bothIds)).count === 2, {
    timeoutMs: 30_000,
    description: 'both runs to be listed as completed by Temporal visibility',
  });

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    // The workflow list, searched by workflow id as an operator would: the raw query box.
    await page.goto(`${uiBase}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows`);
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    const otherLink = rows.getByRole('link', { name: other.workflowId, exact: true });
    await otherLink.waitFor();
    const query = `WorkflowId = "${run.workflowId}"`;
    await page.getByTestId('toggle-manual-query').click();
    await page.getByTestId('manual-search-input').fill(query);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('query') === query);
    await otherLink.waitFor({ state: 'detached' });
    const link = rows.getByRole('link', { name: run.workflowId, exact: true });
    await link.waitFor();
    expect(await rows.count()).toBe(1);
    expect(await rows.getByText('Completed', { exact: true }).count()).toBe(1);
    await saveScreenshot(page, 'temporal-ui-ingest-list');

    await link.click();
    await page.waitForURL((url) => url.pathname.endsWith('/history'));
    expect(page.url()).toBe(status.uiUrl);
    await expectRunHistory(page, run);
  } finally {
    await page.close();
  }

  // The status API's link, opened as it is: the same page, without a redirect.
  // Tall enough that the screenshot holds the timeline and the first events of the table below it
  // (the UI scrolls inside its own frame, so a full-page shot is no taller than the window).
  const direct = await browser.newPage({ viewport: { width: 1400, height: 2000 } });
  try {
    await direct.goto(status.uiUrl);
    await expectRunHistory(direct, run);
    expect(direct.url()).toBe(status.uiUrl);
    await saveScreenshot(direct, 'temporal-ui-ingest-history');
  } finally {
    await direct.close();
  }
}, 120_000);

/** The run's page: its id, its status, its run id, and one scheduled activity per step, in order. */
async function expectRunHistory(page: Page, run: { workflowId: string; runId: string }): Promise<void> {
  const heading = page.getByTestId('workflow-id-heading');
  await heading.waitFor();
  expect((await heading.innerText()).trim()).toBe(run.workflowId);
  await page.locator('header').getByText('Completed', { exact: true }).waitFor();
  await page.getByText(run.runId, { exact: true }).first().waitFor();

  const events = page.getByTestId('event-summary-row');
  await events.filter({ hasText: 'Workflow Execution Completed' }).waitFor();
  const scheduled = events.filter({ hasText: 'Activity Task Scheduled' });
  const steps: { eventId: number; activityType: string }[] = [];
  for (const row of await scheduled.all()) {
    // The details cell reads "Activity Type <name>".
    const details = await row.locator('td').last().innerText();
    steps.push({ eventId: Number(await row.getAttribute('data-eventid')), activityType: details.replace(/^\s*Activity Type\s*/, '').trim() });
  }
  // The table may list newest first: order the steps by event id.
  expect(steps.sort((a, b) => a.eventId - b.eventId).map((s) => s.activityType)).toEqual(STEPS);
}
