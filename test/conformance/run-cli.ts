// Runs the `microtvm` CLI from source (through tsx), so tests need no build of dist/.
import { main } from "../../src/cli/main.js";

await main(process.argv.slice(2));
