// ESLint flat config: type-aware rules for every package, and the layer boundaries of
// ARCHITECTURE.md ("protocol <- storage <- broker; protocol <- client <- streams, connect,
// cli, console; only testkit, cli and compat import broker").
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

/** Which workspace packages each package may import. */
const LAYERS = {
  protocol: [],
  storage: ['protocol'],
  broker: ['protocol', 'storage'],
  client: ['protocol'],
  streams: ['protocol', 'client'],
  connect: ['protocol', 'client'],
  console: ['protocol', 'client'],
  cli: ['protocol', 'client', 'broker', 'storage', 'testkit'],
  testkit: ['protocol', 'storage', 'broker', 'client']
}
const ALL = Object.keys(LAYERS)

const boundaries = Object.entries(LAYERS).map(([pkg, allowed]) => ({
  files: [`packages/${pkg}/src/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        ...ALL.filter((p) => p !== pkg && !allowed.includes(p)).map((p) => ({
          group: [`@samsa/${p}`, `@samsa/${p}/*`],
          message: `packages/${pkg} may not depend on @samsa/${p} (see ARCHITECTURE.md)`
        })),
        { group: ['../../*/src/*', '../../../*/src/*'], message: 'Import other packages by name, not by path' }
      ]
    }]
  }
}))

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'tmp/**', 'packages/protocol/src/messages/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allowAny: false }],
      'no-restricted-syntax': ['error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of a TypeScript enum' },
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports' }
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error'
    }
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked
  },
  {
    // ESLint itself requires a default export from its config.
    files: ['eslint.config.js'],
    rules: { 'no-restricted-syntax': 'off' }
  },
  {
    files: ['**/test/**/*.ts', 'bench/**/*.ts', 'compat/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off'
    }
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:net', 'node:fs', 'node:fs/promises', 'node:timers', 'node:timers/promises', 'net', 'fs'].map((name) => ({
          name, message: 'packages/protocol is sans-I/O: no sockets, files or timers'
        }))
      }]
    }
  },
  ...boundaries.filter((b) => !b.files[0].includes('/protocol/'))
)
