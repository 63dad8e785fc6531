/**
 * `size` uninitialised bytes as a plain Uint8Array, cut from Node's shared allocation pool when
 * small. The bytes of every request and reply pass through several such arrays, and one of its
 * own costs about a microsecond (V8 keeps the store of a typed array over 64 bytes outside its
 * heap, and moves a smaller one there as soon as its `.buffer` is taken); a slice of the pool
 * costs tens of nanoseconds. The caller writes every byte. `.buffer` is the shared pool: read
 * the array through its byteOffset, never from 0.
 */
export function allocBytes(size: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(size);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, size);
}

/** A copy of `bytes` in memory of its own (see allocBytes). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = allocBytes(bytes.length);
  out.set(bytes);
  return out;
}
