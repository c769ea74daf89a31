// Lint: the rules the house style asks for. A forgotten promise in a worker can lose data; no focused or skipped tests.
import tseslint from 'typescript-eslint';

const focusedOrSkipped = ['it', 'test', 'describe', 'suite'].flatMap((object) =>
  ['only', 'skip', 'todo'].map((property) => ({ object, property, message: 'no focused, skipped or todo tests on main' })),
);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'cdk.out/**', 'bench/out/**', 'worker-image/dist/**', '.cloudkeep/**', 'bin/**', 'eslint.config.js'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      'no-restricted-properties': ['error', ...focusedOrSkipped],
    },
  },
);
