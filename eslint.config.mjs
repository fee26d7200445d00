// ESLint flat config: recommended rules for TypeScript, strict about unused code.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "dist/**", "coverage/**", ".plan/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        files: ["**/*.js", "**/*.mjs"],
        languageOptions: { globals: { module: "writable", require: "readonly", __dirname: "readonly" } },
    },
);
