// A project's device in one call: launch the project's server, build when the build stamp says the
// firmware is not current, flash, open the transport, the session and the RPC runtime; then load
// the project's model (AOT or graph) and run it.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  GeneratedProject,
  TemplateProject,
  type LaunchOptions,
  type ProjectOptions,
} from "../client/index.js";
import type { RemoteRuntime } from "../rpc/index.js";
import { buildStampStatus, buildWhenNeeded, expectedBuildStamp, type BuildDecision } from "./build.js";
import { DeviceConnection, type DeviceConnectionOptions } from "./connection.js";
import { DeviceError, DeviceStartError } from "./errors.js";
import { checkFirmwareIdentity, type FirmwareIdentity } from "./identity.js";
import { DeviceModel } from "./inference.js";
import { loadProjectModel, type InferenceModel } from "./model.js";
import { builtInTemplatesDir } from "./paths.js";
import { savedOptions, saveOptions } from "./project-file.js";
import { readFirmwareBuildStamp } from "./stamp.js";

export interface OpenDeviceOptions extends Omit<DeviceConnectionOptions, "projectOptions"> {
  /**
   * Options sent to build, flash and open_transport: over the ones saved in the project when a
   * directory is opened, over the GeneratedProject's own when one is given.
   */
  options?: ProjectOptions;
  /** `auto` (default): build unless the build stamp says the firmware is current. */
  build?: "auto" | "always" | "never";
  /** Flash before connecting (default true). */
  flash?: boolean;
  /** How the project's server is launched (Python for .py servers, its output). */
  launch?: LaunchOptions;
  /** Wraps each step (building, flashing, starting the session), e.g. to show progress. */
  step?: <T>(what: string, work: () => Promise<T>) => Promise<T>;
  /** Told why a build was skipped. */
  onBuildSkipped?: (reason: string) => void;
  /**
   * Compare the build stamp the firmware reports with the build the project expects before
   * anything runs (default true): a stale or foreign firmware fails the open with
   * FirmwareMismatchError. False: the firmware is not asked (`Device.firmware` is undefined).
   */
  checkFirmware?: boolean;
  /** Told why the firmware could not be checked (it carries no stamp: TVM's CRT firmware); it is not refused. */
  onUnstampedFirmware?: (why: string) => void;
}

const plainStep = <T>(_what: string, work: () => Promise<T>): Promise<T> => work();

/** An open connection to a generated project's device, with the project's server running. */
export class Device {
  private readonly models: DeviceModel[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    readonly project: GeneratedProject,
    readonly connection: DeviceConnection,
    /** The options sent to build, flash and open_transport. */
    readonly options: ProjectOptions,
    /** Whether this open built the firmware, and why (or why not). */
    readonly build: BuildDecision,
    /** What the firmware's build stamp said; undefined when not checked (`checkFirmware: false`). */
    readonly firmware: FirmwareIdentity | undefined,
    private readonly ownsProject: boolean,
  ) {}

  /**
   * Opens the device of the generated project in `project` (a directory, whose server is launched
   * and stopped again on close, or an open GeneratedProject, which stays open). On any failure
   * everything this call started is stopped before the error is thrown.
   */
  static async open(project: string | GeneratedProject, options: OpenDeviceOptions = {}): Promise<Device> {
    const step = options.step ?? plainStep;
    let opened: GeneratedProject;
    if (typeof project === "string") {
      const dir = resolve(project);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        throw new DeviceError(
          `project directory ${dir} does not exist or is not a directory`,
          "bad-argument",
        );
      }
      opened = await GeneratedProject.open(dir, options.launch ?? {});
    } else {
      opened = project;
    }
    try {
      const declared = opened.info().projectOptions;
      const given = options.options ?? {};
      // A directory: the options saved in the project under the given ones. An open project:
      // its own options under the given ones (the caller chose them when opening it).
      const sent =
        typeof project === "string"
          ? { ...savedOptions(opened.projectDir, declared, given), ...given }
          : given;
      const build = await buildWhenNeeded(opened, sent, options.build ?? "auto", step);
      if (!build.built) options.onBuildSkipped?.(build.reason);
      if (options.flash ?? true) await step(`flashing ${opened.projectDir}`, () => opened.flash(sent));
      const connection = await step("starting the device session", () =>
        DeviceConnection.open(opened, { ...options, projectOptions: sent }).catch((error: unknown) => {
          throw new DeviceStartError(error);
        }),
      );
      let firmware: FirmwareIdentity | undefined;
      try {
        if (options.checkFirmware ?? true) {
          firmware = await step("checking the firmware's build stamp", () =>
            identifyFirmware(opened, connection, sent),
          );
          if (firmware.status === "unstamped") options.onUnstampedFirmware?.(firmware.why);
        }
      } catch (error) {
        await connection.close();
        throw error;
      }
      return new Device(opened, connection, sent, build, firmware, typeof project === "string");
    } catch (error) {
      if (typeof project === "string") await opened.close();
      throw error;
    }
  }

  get runtime(): RemoteRuntime {
    return this.connection.runtime;
  }

  /**
   * The project's model (its module `moduleName` when the archive holds several, or a model
   * already read with loadProjectModel), ready to run.
   */
  async loadModel(model?: string | InferenceModel): Promise<DeviceModel> {
    const read = typeof model === "object" ? model : await loadProjectModel(this.project, model);
    const loaded = await DeviceModel.create(this.connection, read);
    this.models.push(loaded);
    return loaded;
  }

  /**
   * The build stamp digest the firmware carries; undefined when the firmware has no
   * `microtvm.build_stamp` (TVM's CRT firmware).
   */
  firmwareBuildStamp(): Promise<string | undefined> {
    return readFirmwareBuildStamp(this.connection.runtime);
  }

  /** Ends the session and the transport, and stops the project's server if this opened it. Never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.connection.close();
      if (this.ownsProject) await this.project.close().catch(() => undefined);
    })();
    return this.closing;
  }
}

/**
 * Reads the digest the firmware carries and compares it with the build the project expects with
 * the options `sent`: throws FirmwareMismatchError (saying what changed since the last build when
 * the project's stamp tells) for stale or foreign firmware.
 */
async function identifyFirmware(
  project: GeneratedProject,
  connection: DeviceConnection,
  sent: ProjectOptions,
): Promise<FirmwareIdentity> {
  const reported = await readFirmwareBuildStamp(connection.runtime);
  // Unstamped firmware (TVM's CRT, a template that is not ours) needs no expected stamp.
  if (!reported) return checkFirmwareIdentity(reported, "", project.projectDir);
  const expected = expectedBuildStamp(project, sent);
  if (reported === expected.digest)
    return checkFirmwareIdentity(reported, expected.digest, project.projectDir);
  const status = buildStampStatus(project, sent);
  const why = status.current
    ? "the project's build is current, the device holds another firmware"
    : `${status.reason}`;
  return checkFirmwareIdentity(reported, expected.digest, project.projectDir, why);
}

/** Opens a project's device: see Device.open. */
export function openDevice(
  project: string | GeneratedProject,
  options: OpenDeviceOptions = {},
): Promise<Device> {
  return Device.open(project, options);
}

/** A built-in template's directory by name, or the template directory `template` names. */
export function templateDirectory(template: string): string {
  const builtIn = join(builtInTemplatesDir, template);
  if (/^[\w.-]+$/.test(template) && existsSync(join(builtIn, "launch_microtvm_api_server.sh")))
    return builtIn;
  const dir = resolve(template);
  if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  throw new DeviceError(
    `template ${JSON.stringify(template)} is neither a built-in template nor a directory`,
    "bad-argument",
  );
}

export interface CreateProjectOptions {
  /** A built-in template's name (default `host`) or a template directory. */
  template?: string;
  /** The template's project options (e.g. `{ board: "mps2-an386" }` for qemu-cortex-m). */
  options?: ProjectOptions;
  launch?: LaunchOptions;
}

/**
 * Generates a project for the model archive `archive` into `projectDir` (which must not exist)
 * and records the options in its microtvm-project.json. Returns the project's directory.
 */
export async function createProject(
  archive: string,
  projectDir: string,
  options: CreateProjectOptions = {},
): Promise<string> {
  const templateName = options.template ?? "host";
  const template = await TemplateProject.open(templateDirectory(templateName), options.launch ?? {});
  try {
    const generated = await template.generateProject(archive, projectDir, options.options ?? {});
    await generated.close();
  } finally {
    await template.close();
  }
  const dir = resolve(projectDir);
  saveOptions(dir, options.options ?? {}, templateName.replace(/^.*\//, ""));
  return dir;
}
