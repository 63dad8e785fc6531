// Whether a generated project is built, and built for what it would be built for now: from its
// build stamp, compared with the stamp a build with the project's saved options would get.
import {
  checkBuildStamp,
  effectiveBuildOptions,
  projectBuildStamp,
  readBuildStamp,
  readProjectFile,
} from "../../device/index.js";
import type { ServerInfo } from "../../protocol/index.js";

export interface BuildState {
  /** `not_built`: no stamp; `current`: the stamp matches; `stale`: built from something else. */
  status: "not_built" | "current" | "stale";
  /** Why, for people (what changed since the last build, when stale). */
  reason: string;
  /** The digest of the last successful build, or null. */
  build_stamp: string | null;
}

export function projectBuildState(dir: string, info: ServerInfo): BuildState {
  const recorded = readBuildStamp(dir);
  if (!recorded) {
    return {
      status: "not_built",
      reason: "no build stamp: never built here, or the last build failed",
      build_stamp: null,
    };
  }
  if (!info.modelLibraryFormatPath) {
    return {
      status: "stale",
      reason: "the server reports no model archive to compare the build with",
      build_stamp: recorded.digest,
    };
  }
  const saved = readProjectFile(dir)?.options ?? {};
  const expected = projectBuildStamp(dir, {
    archivePath: info.modelLibraryFormatPath,
    options: effectiveBuildOptions(info.projectOptions, {}, saved),
    fallbackName: info.platformName,
  });
  const check = checkBuildStamp(dir, expected);
  return { status: check.current ? "current" : "stale", reason: check.reason, build_stamp: recorded.digest };
}
