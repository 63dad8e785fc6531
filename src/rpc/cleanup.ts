// Clean-up that runs on every path without hiding the error that made it necessary.

/**
 * Runs `body`, then `cleanup` on every path. When the body failed, its error is the one thrown and
 * a failing clean-up is ignored: the first failure is what the caller needs to see (a clean-up
 * after a broken channel, for one, can only fail too).
 */
export async function withCleanup<T>(body: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
  await cleanup();
  return result;
}
