/** Durability helpers shared by every component that writes files. */
import { open } from 'node:fs/promises';

/** fsyncs a directory so a create, rename or unlink in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
