/**
 * Import a module that may not exist yet (a backend, the inspector, the trace exporter
 * being written elsewhere): resolves to its namespace, or `null` when the file is absent.
 * Errors inside a module that does exist are rethrown.
 *
 * @example
 * const mod = await importOptional(new URL('../trace/chrome-trace.ts', import.meta.url));
 */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export async function importOptional(url: URL): Promise<Record<string, unknown> | null> {
  try {
    await access(fileURLToPath(url));
  } catch {
    return null;
  }
  return (await import(url.href)) as Record<string, unknown>;
}
