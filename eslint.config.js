// ESLint for the front end: the browser's ES modules in static/js, and this file. `scripts/test` runs it
// (`npm run lint`, which fails on any message). The recommended rules, the browser's globals, and a few
// rules that catch real mistakes in this code base; no style rules (nothing here rewrites code).
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    // for a bare `npx eslint .`: the installed packages (the venv holds Playwright's JavaScript)
    ignores: ["node_modules/", ".venv/"],
  },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: globals.browser,
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: globals.node,
    },
  },
  {
    rules: {
      // a name that is never read is a leftover or a typo; `_name` marks one kept on purpose
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // == only for the deliberate `x == null` (null or undefined)
      eqeqeq: ["error", "always", { null: "ignore" }],
      // a top-level name leaking onto window (a classic script's; ES modules keep theirs to themselves)
      "no-implicit-globals": "error",
      "prefer-const": "error",
      "no-var": "error",
      // a const or let read before its line throws (outside a closure, where it may run later)
      "no-use-before-define": ["error", { functions: false, classes: false, variables: false }],
      // window.name, window.event, ... are globals that a missing declaration silently reads
      "no-restricted-globals": ["error", "event", "name", "length", "status", "top", "parent", "self", "closed", "origin"],
      // the pages' Content-Security-Policy forbids evaluating strings anyway
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-template-curly-in-string": "error",
      "array-callback-return": "error",
      "no-self-compare": "error",
      "no-unmodified-loop-condition": "error",
      "no-console": "error",
      // static/js/i18n.js: `convlens i18n extract` reads the messages from the source, so a message is a literal
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name=/^(t|tn)$/][arguments.0.type!='Literal']",
          message: "t()/tn(): the message must be a string literal ({placeholders} carry the values)",
        },
        {
          selector: "CallExpression[callee.name=/^(tn|tp)$/][arguments.1.type!='Literal']",
          message: "tn()/tp(): the plural message and the message in a context must be string literals",
        },
        {
          selector: "CallExpression[callee.name='tp'][arguments.0.type!='Literal']",
          message: "tp(): the context must be a string literal",
        },
      ],
    },
  },
];
