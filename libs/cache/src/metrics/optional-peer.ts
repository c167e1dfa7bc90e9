/**
 * Loads an optional peer dependency when a feature is switched on, never when the library is imported: the library
 * must work where prom-client or @opentelemetry/api are not installed. Undefined when the package is not installed.
 */
export function loadOptionalPeer<T>(pkg: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(`'${pkg}'`)) return undefined;
    throw error;
  }
}
