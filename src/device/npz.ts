// Reading NumPy `.npz` archives (numpy.savez / savez_compressed): a zip of `.npy` members, one per
// key. The zip container is read by fflate (stored and deflated members, the zip64 local headers
// numpy writes); each member is checked and decoded by the .npy reader in the rpc layer.
import { readFile } from "node:fs/promises";
import { unzipSync } from "fflate";
import { parseNpy, TensorIoError, type HostTensor } from "../rpc/index.js";
import { DeviceError } from "./errors.js";

/** Largest member accepted (uncompressed): a guard against archives that expand without bound. */
const MAX_MEMBER_BYTES = 1 << 30;

/** One array of an .npz archive: its key (the member name without `.npy`) and raw .npy bytes. */
export interface NpzMember {
  readonly key: string;
  readonly npy: Uint8Array;
}

/** The members of an .npz archive in `bytes`, sorted by key. `where` names it in errors. */
export function readNpzMembers(bytes: Uint8Array, where: string): NpzMember[] {
  let files: Record<string, Uint8Array>;
  let tooLarge: string | undefined;
  try {
    files = unzipSync(bytes, {
      filter: (file) => {
        if (file.originalSize > MAX_MEMBER_BYTES) tooLarge ??= file.name;
        return tooLarge === undefined;
      },
    });
  } catch (error) {
    throw new DeviceError(
      `${where}: not a readable .npz archive (${(error as Error).message}); write it with numpy.savez or numpy.savez_compressed`,
      "bad-file",
      { cause: error },
    );
  }
  if (tooLarge !== undefined) {
    throw new DeviceError(
      `${where}: member ${JSON.stringify(tooLarge)} expands to more than ${MAX_MEMBER_BYTES} bytes`,
      "bad-file",
    );
  }
  const members: NpzMember[] = [];
  for (const [name, npy] of Object.entries(files)) {
    if (name.endsWith("/")) continue; // a directory entry
    if (!name.endsWith(".npy")) {
      throw new DeviceError(
        `${where}: member ${JSON.stringify(name)} is not an .npy array; an .npz holds only arrays (numpy.savez)`,
        "bad-file",
      );
    }
    members.push({ key: name.slice(0, -".npy".length), npy });
  }
  members.sort((a, b) => compareNames(a.key, b.key));
  return members;
}

/** Reads an .npz file into its members. */
export async function readNpzFile(path: string): Promise<NpzMember[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new DeviceError(`cannot read ${path}: ${why}`, "bad-file", { cause: error });
  }
  return readNpzMembers(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** Decodes one member into a tensor (any dtype and shape the .npy reader supports). */
export function npzMemberTensor(member: NpzMember, where: string): HostTensor {
  try {
    return parseNpy(member.npy, `${where}[${member.key}]`);
  } catch (error) {
    if (error instanceof TensorIoError) throw new DeviceError(error.message, "bad-file", { cause: error });
    throw error;
  }
}

/** Code-unit order: the same on every machine and locale (as `ls` under LC_ALL=C). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
