#!/usr/bin/env node
// `npm test`: type checks (main + renderer), Vitest unit and integration tests, a renderer build,
// then the end-to-end tests in Chromium against web mode. Ends with the plain line
// `N passed, N failed` counting every check and test that ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const resultsDir = join(root, 'test-results');
mkdirSync(resultsDir, { recursive: true });
const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

let passed = 0;
let failed = 0;
const failures = [];

function step(name, cmd, args) {
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  process.stdout.write(`=== ${name}: ${r.status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  return r.status === 0;
}

function check(name, cmd, args) {
  if (step(name, cmd, args)) passed++;
  else {
    failed++;
    failures.push(name);
  }
}

/** Run Vitest with a JSON report and add its test counts. */
function vitest(name, args) {
  const report = join(resultsDir, `${name}.json`);
  rmSync(report, { force: true });
  const ok = step(name, npx, ['vitest', 'run', ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
  if (!existsSync(report)) {
    failed++;
    failures.push(`${name} (no report: the runner crashed)`);
    return;
  }
  const j = JSON.parse(readFileSync(report, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  // A suite that failed to load counts as a failure even with no failed test inside.
  const broken = (j.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed'));
  for (const f of broken) {
    failed++;
    failures.push(`${name}: ${f.name} failed to run`);
  }
  for (const f of j.testResults ?? []) for (const a of f.assertionResults ?? []) if (a.status === 'failed') failures.push(`${name}: ${a.fullName}`);
  if (!ok && j.numFailedTests === 0 && broken.length === 0) {
    failed++;
    failures.push(`${name} (runner exited non-zero)`);
  }
}

check('typecheck main', npx, ['tsc', '-p', 'tsconfig.node.json', '--noEmit']);
check('typecheck renderer', npx, ['vue-tsc', '-p', 'tsconfig.web.json', '--noEmit']);
vitest('unit-integration', []);
check('build (electron-vite)', npx, ['electron-vite', 'build']);
vitest('e2e', ['-c', 'vitest.e2e.config.ts']);

if (failures.length) {
  process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
