// Building a generated project so that its build stamp is right whatever the template: the stamp
// is dropped before the build (a failed build must not look current), and written by the client
// when the template's server did not write one (templates that are not ours).
import type { GeneratedProject, ProjectOptions } from "../client/index.js";
import { DeviceError } from "./errors.js";
import { readProjectFile } from "./project-file.js";
import {
  checkBuildStamp,
  effectiveBuildOptions,
  projectBuildStamp,
  readBuildStamp,
  removeBuildStamp,
  writeBuildStamp,
  type BuildStamp,
  type BuildStampCheck,
} from "./stamp.js";

/** The stamp a build of `project` with the options `sent` gets, from the project's files now. */
export function expectedBuildStamp(project: GeneratedProject, sent: ProjectOptions): BuildStamp {
  const info = project.info();
  if (!info.modelLibraryFormatPath) {
    throw new DeviceError(
      `${project.projectDir} reports no model archive (model_library_format_path); is it a generated project?`,
      "bad-file",
    );
  }
  const saved = readProjectFile(project.projectDir)?.options ?? {};
  return projectBuildStamp(project.projectDir, {
    archivePath: info.modelLibraryFormatPath,
    // What GeneratedProject.build sends: the project's options (defaults filled) under `sent`.
    options: effectiveBuildOptions(info.projectOptions, { ...project.options, ...sent }, saved),
    fallbackName: info.platformName,
  });
}

/** Whether the firmware built last is what a build with `sent` would make now. */
export function buildStampStatus(project: GeneratedProject, sent: ProjectOptions): BuildStampCheck {
  return checkBuildStamp(project.projectDir, expectedBuildStamp(project, sent));
}

/**
 * Asks the project's server to build, and makes sure the build stamp describes the result: our
 * servers write it themselves; for other templates it is written here once their build succeeded.
 */
export async function buildProject(project: GeneratedProject, sent: ProjectOptions): Promise<BuildStamp> {
  removeBuildStamp(project.projectDir);
  await project.build(sent);
  const written = readBuildStamp(project.projectDir);
  if (written) return written;
  const stamp = expectedBuildStamp(project, sent);
  writeBuildStamp(project.projectDir, stamp);
  return stamp;
}

export interface BuildDecision {
  built: boolean;
  /** Why it was built or not, for people. */
  reason: string;
}

/**
 * Builds unless the build stamp says the firmware is current (`when: "auto"`); `"always"` builds
 * and `"never"` does not look.
 */
export async function buildWhenNeeded(
  project: GeneratedProject,
  sent: ProjectOptions,
  when: "auto" | "always" | "never" = "auto",
  step: <T>(what: string, work: () => Promise<T>) => Promise<T> = (_what, work) => work(),
): Promise<BuildDecision> {
  if (when === "never") return { built: false, reason: "not asked to build" };
  let reason = "asked to build";
  if (when === "auto") {
    const check = buildStampStatus(project, sent);
    if (check.current) return { built: false, reason: check.reason };
    reason = check.reason;
  }
  await step(`building ${project.projectDir} (${reason})`, () => buildProject(project, sent));
  return { built: true, reason };
}
