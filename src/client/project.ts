// Template and generated projects (the reference's project.py), with the leaks and the option
// mutation fixed: both facades close their servers, options are checked before any call and
// the caller's object is never changed.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerInfo } from "../protocol/index.js";
import {
  DEFAULT_TVM_VERSION,
  ProjectApiClient,
  type ClientOptions,
  type ProjectTransport,
} from "./client.js";
import { NotATemplateProjectError, ProjectOptionError, TemplateProjectError } from "./errors.js";
import type { LaunchOptions } from "./launch.js";
import { checkOptionNames, checkRequiredOptions, withDefaults, type ProjectOptions } from "./options.js";

export type ProjectClientOptions = ClientOptions & LaunchOptions & { tvmVersion?: string };

/**
 * The package's C runtime directory, sent as `standalone_crt_dir` unless the caller names another
 * (the reference sends TVM's standalone CRT; our templates copy this one).
 */
export function defaultStandaloneCrtDir(): string {
  // src/client/project.ts and dist/client/project.js both sit two levels below the package root.
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "runtime");
}

abstract class ProjectBase {
  protected constructor(
    protected readonly client: ProjectApiClient,
    protected readonly serverInfo: ServerInfo,
    readonly projectDir: string,
  ) {}

  /** The server_info_query reply this project was opened with. */
  info(): ServerInfo {
    return this.serverInfo;
  }

  /** The client connected to this project's server (for calls the facade does not wrap). */
  get apiClient(): ProjectApiClient {
    return this.client;
  }

  /** Stops this project's server (see ProjectApiClient.close). Idempotent. */
  close(): Promise<void> {
    return this.client.close();
  }

  protected checked(options: ProjectOptions | undefined): ProjectOptions {
    if (
      options !== undefined &&
      (typeof options !== "object" || options === null || Array.isArray(options))
    ) {
      throw new ProjectOptionError(
        `project options must be an object of name → value; got ${typeof options}`,
      );
    }
    checkOptionNames(options ?? {}, this.serverInfo.projectOptions);
    return withDefaults(options, this.serverInfo.projectOptions);
  }
}

/** Opens the server of `dir` and queries it; closes the server again if anything fails. */
async function openChecked(
  dir: string,
  options: ProjectClientOptions,
  wantTemplate: boolean,
): Promise<{ client: ProjectApiClient; info: ServerInfo }> {
  const client = await ProjectApiClient.launch(dir, options);
  try {
    const info = await client.serverInfoQuery(options.tvmVersion ?? DEFAULT_TVM_VERSION);
    if (wantTemplate && !info.isTemplate) throw new NotATemplateProjectError(dir);
    if (!wantTemplate && info.isTemplate) throw new TemplateProjectError(dir);
    return { client, info };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** A template project: a directory whose server reports is_template: true and can generate projects. */
export class TemplateProject extends ProjectBase {
  private constructor(
    client: ProjectApiClient,
    info: ServerInfo,
    dir: string,
    private readonly clientOptions: ProjectClientOptions,
  ) {
    super(client, info, dir);
  }

  /** Launches the template's server; NotATemplateProjectError if it is a generated project. */
  static async open(templateDir: string, options: ProjectClientOptions = {}): Promise<TemplateProject> {
    const dir = resolve(templateDir);
    const { client, info } = await openChecked(dir, options, true);
    return new TemplateProject(client, info, dir, options);
  }

  /**
   * Generates a project from a Model Library Format archive into `projectDir` (which must not
   * exist yet), then launches the generated project's server and returns it. Option names are
   * checked against the template's options before anything is sent; unspecified options get
   * their defaults; options required for generate_project must have a value.
   */
  async generateProject(
    mlfPath: string,
    projectDir: string,
    options?: ProjectOptions,
    extra: { standaloneCrtDir?: string } = {},
  ): Promise<GeneratedProject> {
    const filled = this.checked(options);
    checkRequiredOptions(filled, this.serverInfo.projectOptions, "generate_project");
    const mlf = resolve(mlfPath);
    if (!existsSync(mlf)) throw new ProjectOptionError(`model archive ${mlf} does not exist`);
    const target = resolve(projectDir);
    if (existsSync(target)) {
      throw new ProjectOptionError(
        `${target} already exists; choose a new directory for the generated project`,
      );
    }
    await this.client.generateProject({
      modelLibraryFormatPath: mlf,
      standaloneCrtDir: extra.standaloneCrtDir ?? defaultStandaloneCrtDir(),
      projectDir: target,
      options: filled,
    });
    return GeneratedProject.open(target, { ...this.clientOptions, projectOptions: filled });
  }
}

/** A generated project: its server reports is_template: false and builds, flashes and talks to the device. */
export class GeneratedProject extends ProjectBase {
  private readonly filledOptions: ProjectOptions;

  private constructor(
    client: ProjectApiClient,
    info: ServerInfo,
    dir: string,
    options: ProjectOptions | undefined,
  ) {
    super(client, info, dir);
    this.filledOptions = this.checked(options);
  }

  /**
   * Launches the generated project's server; TemplateProjectError if it reports is_template: true.
   * `projectOptions` are checked against the project's own options and used for every call.
   */
  static async open(
    projectDir: string,
    options: ProjectClientOptions & { projectOptions?: ProjectOptions } = {},
  ): Promise<GeneratedProject> {
    const dir = resolve(projectDir);
    const { client, info } = await openChecked(dir, options, false);
    try {
      return new GeneratedProject(client, info, dir, options.projectOptions);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** The options sent with every call: the caller's, plus defaults for the rest. */
  get options(): ProjectOptions {
    return { ...this.filledOptions };
  }

  /** build, with this project's options merged with `overrides` (checked by name). */
  async build(overrides?: ProjectOptions): Promise<void> {
    await this.client.build(this.merged(overrides));
  }

  async flash(overrides?: ProjectOptions): Promise<void> {
    await this.client.flash(this.merged(overrides));
  }

  /** The device transport over this project's server (open_transport gets the project's options). */
  transport(overrides?: ProjectOptions): ProjectTransport {
    return this.client.transport(this.merged(overrides));
  }

  private merged(overrides: ProjectOptions | undefined): ProjectOptions {
    if (!overrides) return this.options;
    checkOptionNames(overrides, this.serverInfo.projectOptions);
    return { ...this.filledOptions, ...overrides };
  }
}

/**
 * Opens the template, generates `projectDir` from `mlfPath`, closes the template's server and
 * returns the generated project (whose server the caller closes).
 */
export async function generateProjectFromMlf(
  templateDir: string,
  projectDir: string,
  mlfPath: string,
  options?: ProjectOptions,
  clientOptions: ProjectClientOptions & { standaloneCrtDir?: string } = {},
): Promise<GeneratedProject> {
  const template = await TemplateProject.open(templateDir, clientOptions);
  try {
    return await template.generateProject(mlfPath, projectDir, options, clientOptions);
  } finally {
    await template.close();
  }
}
