// The build stamp: the one answer to "is this firmware current". It records what a successful
// build was made from — the model archive, the effective build options, the project's template
// files and its device runtime — and a digest of all of that. Our template servers write it at
// the end of `build` and put the digest into the firmware (microtvm_build_stamp.h); for other
// templates the client writes it after their build succeeded. See docs/run.md.
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { ProjectOption } from "../protocol/index.js";
import { RpcDeviceError, type RemoteRuntime } from "../rpc/index.js";
import { writeJsonFileAtomically } from "./json-file.js";
import { PROJECT_FILE_NAME, readProjectFile } from "./project-file.js";

export const BUILD_STAMP_FILE = "microtvm-build-stamp.json";
export const BUILD_STAMP_SCHEMA = "microtvm.build-stamp/1";
/** The header a template generates in its build directory (on the include path) before compiling. */
export const BUILD_STAMP_HEADER = "microtvm_build_stamp.h";
/** The firmware's global function returning the digest ("" when built without the header). */
export const BUILD_STAMP_FUNCTION = "microtvm.build_stamp";

/** What a build was made from: every field of the stamp except its digest. */
export interface BuildStampFields {
  /** sha256 (hex) of the project's model archive. */
  archive_sha256: string;
  /** The effective build options (see `effectiveBuildOptions`). */
  options: Record<string, unknown>;
  template: {
    name: string;
    /** sha256 over the project's own files (see `projectTemplateFingerprint`). */
    fingerprint: string;
  };
  /** sha256 over the project's copy of the device runtime (see `projectRuntimeFingerprint`). */
  runtime_fingerprint: string;
}

export interface BuildStamp extends BuildStampFields {
  schema: string;
  /** sha256 (hex) of the canonical JSON of every other field, schema included. */
  digest: string;
}

/** JSON with object keys sorted at every level and no white space: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The stamp of these fields, its digest computed. */
export function makeBuildStamp(fields: BuildStampFields): BuildStamp {
  const body = {
    schema: BUILD_STAMP_SCHEMA,
    archive_sha256: fields.archive_sha256,
    options: fields.options,
    template: { name: fields.template.name, fingerprint: fields.template.fingerprint },
    runtime_fingerprint: fields.runtime_fingerprint,
  };
  const digest = createHash("sha256").update(canonicalJson(body)).digest("hex");
  return { ...body, digest };
}

/** Options that change what is printed, never what is built. */
const NOT_BUILD_INPUTS = new Set(["verbose"]);

/**
 * The options a build is made with: every declared option that applies to `build`, taking the
 * value sent with the call, else the one saved in the project, else the option's default;
 * unset (null) options and `verbose` are left out. Servers and clients compute it alike, so a
 * client can tell whether a build with the options it would send is already done.
 */
export function effectiveBuildOptions(
  declared: readonly ProjectOption[],
  sent: Record<string, unknown>,
  saved: Record<string, unknown> = {},
): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const option of declared) {
    const methods = [...(option.required ?? []), ...(option.optional ?? [])];
    if (!methods.includes("build") || NOT_BUILD_INPUTS.has(option.name)) continue;
    const value = sent[option.name] ?? saved[option.name] ?? option.default;
    if (value !== undefined && value !== null) options[option.name] = value;
  }
  return options;
}

/** Directories that hold a project's copy of the device runtime: ours, then TVM's crt template's. */
const RUNTIME_DIRS = ["runtime", "crt"];
/** What builds write, and what records builds: not inputs of a build. */
const NOT_TEMPLATE_FILES = new Set(["build", BUILD_STAMP_FILE, PROJECT_FILE_NAME, "__pycache__"]);

function hashTree(hash: ReturnType<typeof createHash>, dir: string, prefix: string, skip: Set<string>): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".") || skip.has(name)) continue;
    const path = join(dir, name);
    const stat = lstatSync(path);
    const rel = `${prefix}${name}`;
    if (stat.isDirectory()) hashTree(hash, path, `${rel}/`, new Set());
    else if (stat.isSymbolicLink()) hash.update(`link ${rel}\n${readlinkSync(path)}\n`);
    else if (stat.isFile()) {
      const data = readFileSync(path);
      hash.update(`file ${rel} ${data.length}\n`).update(data);
    }
  }
}

/**
 * sha256 over the files of a generated project that its build reads, as the template generated
 * them: everything except the model archive (`archive_sha256`), the runtime copy
 * (`runtime_fingerprint`), `build/`, the project and stamp files, and hidden files. An edited
 * firmware source or Makefile changes it.
 */
export function projectTemplateFingerprint(projectDir: string, archiveName?: string): string {
  const hash = createHash("sha256");
  const skip = new Set([...NOT_TEMPLATE_FILES, ...RUNTIME_DIRS]);
  if (archiveName) skip.add(archiveName);
  hashTree(hash, projectDir, "", skip);
  return hash.digest("hex");
}

/** sha256 over the project's copy of the device runtime (`runtime/`, or `crt/` for TVM's crt template). */
export function projectRuntimeFingerprint(projectDir: string): string {
  const hash = createHash("sha256");
  const dir = RUNTIME_DIRS.find((name) => existsSync(join(projectDir, name)));
  if (dir) {
    hash.update(`${dir}\n`);
    hashTree(hash, join(projectDir, dir), "", new Set());
  }
  return hash.digest("hex");
}

export function sha256FileSync(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export interface ProjectStampInputs {
  /** The project's model archive (the server's model_library_format_path). */
  archivePath: string;
  /** The effective build options (`effectiveBuildOptions`). */
  options: Record<string, unknown>;
  /** The template's name; default: the one in microtvm-project.json, else `fallbackName`. */
  templateName?: string;
  /** The name when neither is known (the server's platform name). */
  fallbackName?: string;
}

/** The stamp a build of `projectDir` with these inputs gets (computed from the files now). */
export function projectBuildStamp(projectDir: string, inputs: ProjectStampInputs): BuildStamp {
  const name =
    inputs.templateName ?? readProjectFile(projectDir)?.template ?? inputs.fallbackName ?? "unknown";
  const archiveName = inputs.archivePath.startsWith(`${projectDir}/`)
    ? inputs.archivePath.slice(projectDir.length + 1)
    : undefined;
  return makeBuildStamp({
    archive_sha256: sha256FileSync(inputs.archivePath),
    options: inputs.options,
    template: {
      name,
      fingerprint: projectTemplateFingerprint(
        projectDir,
        archiveName?.includes("/") ? undefined : archiveName,
      ),
    },
    runtime_fingerprint: projectRuntimeFingerprint(projectDir),
  });
}

/** The stamp recorded in `projectDir`, or undefined when there is none or it is not a stamp. */
export function readBuildStamp(projectDir: string): BuildStamp | undefined {
  const path = join(projectDir, BUILD_STAMP_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const stamp = JSON.parse(readFileSync(path, "utf8")) as BuildStamp;
    if (stamp?.schema !== BUILD_STAMP_SCHEMA || typeof stamp.digest !== "string") return undefined;
    return stamp;
  } catch {
    return undefined;
  }
}

/** Records `stamp` in `projectDir` (atomically). */
export function writeBuildStamp(projectDir: string, stamp: BuildStamp): void {
  writeJsonFileAtomically(join(projectDir, BUILD_STAMP_FILE), stamp);
}

/** Forgets the recorded stamp (a build is starting, so the firmware may no longer match it). */
export function removeBuildStamp(projectDir: string): void {
  rmSync(join(projectDir, BUILD_STAMP_FILE), { force: true });
}

/**
 * The C header that puts the digest into the firmware. Its include guard differs from the
 * runtime's own microtvm/build_stamp.h, which the same source includes first.
 */
export function buildStampHeader(stamp: BuildStamp): string {
  return `/* Generated at build time by microtvm: the digest of this build's ${BUILD_STAMP_FILE}. */
#ifndef MICROTVM_GENERATED_BUILD_STAMP_H_
#define MICROTVM_GENERATED_BUILD_STAMP_H_
#define MICROTVM_BUILD_STAMP "${stamp.digest}"
#endif
`;
}

/**
 * Writes microtvm_build_stamp.h into `buildDir` when its text differs (an unchanged header keeps
 * its time, so make does not recompile what includes it).
 */
export function writeBuildStampHeader(buildDir: string, stamp: BuildStamp): void {
  const path = join(buildDir, BUILD_STAMP_HEADER);
  const text = buildStampHeader(stamp);
  if (existsSync(path) && readFileSync(path, "utf8") === text) return;
  writeFileSync(path, text);
}

/** Whether the recorded stamp matches `expected`, and if not, what differs (for people). */
export interface BuildStampCheck {
  current: boolean;
  reason: string;
}

export function checkBuildStamp(projectDir: string, expected: BuildStamp): BuildStampCheck {
  const recorded = readBuildStamp(projectDir);
  if (!recorded) return { current: false, reason: "the project has no build stamp (never built here)" };
  if (recorded.digest === expected.digest) return { current: true, reason: "the build stamp matches" };
  const changed: string[] = [];
  if (recorded.archive_sha256 !== expected.archive_sha256) changed.push("the model archive");
  if (canonicalJson(recorded.options) !== canonicalJson(expected.options)) {
    const names = new Set([...Object.keys(recorded.options ?? {}), ...Object.keys(expected.options)]);
    const diff = [...names]
      .filter((n) => canonicalJson(recorded.options?.[n]) !== canonicalJson(expected.options[n]))
      .map(
        (n) =>
          `${n} ${JSON.stringify(recorded.options?.[n] ?? null)} → ${JSON.stringify(expected.options[n] ?? null)}`,
      );
    changed.push(`options (${diff.join(", ")})`);
  }
  if (
    recorded.template?.name !== expected.template.name ||
    recorded.template?.fingerprint !== expected.template.fingerprint
  )
    changed.push("the project's template files");
  if (recorded.runtime_fingerprint !== expected.runtime_fingerprint) changed.push("the device runtime");
  return {
    current: false,
    reason: `changed since the last build: ${changed.length > 0 ? changed.join("; ") : "the stamp's format"}`,
  };
}

/**
 * The build stamp digest the firmware carries (`microtvm.build_stamp`), "" for our firmware built
 * without the header, or undefined when the firmware has no such function (TVM's CRT firmware).
 */
export async function readFirmwareBuildStamp(runtime: RemoteRuntime): Promise<string | undefined> {
  let fn;
  try {
    fn = await runtime.getGlobalFunction(BUILD_STAMP_FUNCTION);
  } catch (error) {
    // TVM's CRT answers a lookup of an unknown name with an exception rather than a null handle.
    if (error instanceof RpcDeviceError) return undefined;
    throw error;
  }
  if (!fn) return undefined;
  try {
    const value = await fn.call();
    return typeof value === "string" ? value : String(value);
  } finally {
    await fn.free();
  }
}
