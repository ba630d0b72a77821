import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.tap/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The browser client: tsc (src/web/tsconfig.json, checkJs with the DOM library) already
    // knows which globals exist, so no-undef would only repeat it without the browser's list.
    files: ['src/web/client/**/*.js'],
    languageOptions: { sourceType: 'module' },
    rules: { 'no-undef': 'off' }
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }]
    }
  }
)
