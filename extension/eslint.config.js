import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "test-build/", "node_modules/", "web-ext-artifacts/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      // AI output is untrusted input: build DOM with textContent only (STYLE.md habit 14).
      "no-restricted-properties": [
        "error",
        ...["inner", "outer", "insertAdjacent"].map((p) => ({ property: p + "HTML", message: "Use textContent and createElement." })),
      ],
      "no-restricted-globals": ["error", { name: "eval", message: "No dynamic code." }],
    },
  },
  {
    files: ["scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
