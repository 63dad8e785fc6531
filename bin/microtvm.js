#!/usr/bin/env node
// The `microtvm` command. The CLI is compiled into dist/ by `npm run build` (run by `npm ci`).
import("../dist/cli/main.js").then(
  (cli) => cli.main(process.argv.slice(2)),
  (error) => {
    console.error(`microtvm: cannot load the CLI (${error.message}); run \`npm run build\` first.`);
    process.exit(1);
  },
);
