// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.harvester/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is replayed: it must be deterministic and must not touch the outside world.
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must not use Node built-ins: do I/O in an activity.',
          })),
          patterns: [
            {
              group: ['**/activities/*', '**/activities/**'],
              message: 'Import activities with `import type` only.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop or a Temporal timer.' },
        { name: 'process', message: 'Workflows must not read the process environment.' },
        { name: 'fetch', message: 'Do network I/O in an activity.' },
        { name: 'crypto', message: 'Use uuid4() from @temporalio/workflow for ids.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Workflow code must be deterministic.' },
        { object: 'Date', property: 'now', message: 'Use workflow time only through Temporal APIs.' },
      ],
    },
  },
  {
    // The contracts are bundled into the workflows and loaded by every process: workflow-safe,
    // and a leaf of the import graph (nothing but each other and Temporal's workflow-safe packages).
    files: ['src/contracts/**/*.ts'],
    ignores: ['src/contracts/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Contracts are bundled into workflows: no Node built-ins.' })),
          patterns: [{ group: ['../*', '!./*'], message: 'Contracts import only each other.' }],
        },
      ],
    },
  },
  {
    // Only the worker, the replay test and the bundle script load workflow code; everything else
    // reads the pipelines' types and names from src/contracts.
    files: ['**/*.ts'],
    ignores: ['src/workflows/**', 'src/worker/**', 'scripts/bundle-workflows.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/workflows/*', '**/workflows/**'], message: 'Import the pipelines\' types and names from src/contracts, not workflow code.' }] },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
