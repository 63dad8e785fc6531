import type { MlfVersion } from "./model.js";

/** Where each version of Model Library Format keeps what the reader needs. */
export interface MlfLayout {
  /** The metadata key listing the executor (`["aot"]` or `["graph"]`). */
  readonly executorsKey: "runtimes" | "executors";
  /** Whether metadata.json is `{"modules": {<name>: {...}}}` (true) or one module at its root. */
  readonly modulesMap: boolean;
  /** Where `external_dependencies` may appear: in each module, or also at the root. */
  readonly dependenciesAtRoot: boolean;
  /** The Relay text of a module. */
  relayFile(name: string): string;
  /** The graph executor's JSON of a module. */
  graphFile(name: string): string;
}

const singleModule = {
  modulesMap: false,
  dependenciesAtRoot: true,
  relayFile: () => "src/relay.txt",
} as const;

/** One row per version; see docs/mlf.md ("Versions read"). */
export const LAYOUTS: Readonly<Record<MlfVersion, MlfLayout>> = {
  4: { ...singleModule, executorsKey: "runtimes", graphFile: () => "runtime-config/graph/graph.json" },
  5: { ...singleModule, executorsKey: "executors", graphFile: () => "executor-config/graph/graph.json" },
  6: { ...singleModule, executorsKey: "executors", graphFile: () => "executor-config/graph/graph.json" },
  7: {
    executorsKey: "executors",
    modulesMap: true,
    dependenciesAtRoot: false,
    relayFile: (name) => `src/${name}.relay`,
    graphFile: (name) => `executor-config/graph/${name}.graph`,
  },
};
