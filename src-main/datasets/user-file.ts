/**
 * Reading a file the user named (an image, a PNG to reproduce, an ONNX model) without trusting it
 * to be a plain file of a sane size.
 *
 * - The file is opened with O_NONBLOCK, so opening a FIFO (named pipe) with no writer returns at
 *   once instead of blocking a libuv thread forever; then fstat on the open descriptor (not a
 *   stat of the path, which could be swapped between the check and the open) refuses anything
 *   that is not a regular file: pipes, sockets, character devices like /dev/zero, folders.
 * - The size is checked before reading, and the read stops one byte past that size, so a file
 *   that grows while it is read is refused too. Memory is bounded by `maxBytes`.
 * O_NONBLOCK has no effect on regular files; where the platform has no such flag (Windows) the
 * open is a plain one (Windows has no FIFOs in the file system).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DatasetError } from './errors';

export type UserPath = string | Buffer;

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${bytes} bytes`;
}

/** What kind of non-regular file this is, for messages. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The `unreadable` message for a file-system error on a file. */
function fsMessage(e: unknown): { code: 'not_found' | 'unreadable'; message: string } {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'ENOENT' || code === 'ENOTDIR') return { code: 'not_found', message: 'does not exist. Check the path (it is case-sensitive on most systems) and try again.' };
  if (code === 'EACCES' || code === 'EPERM') return { code: 'unreadable', message: 'cannot be read: permission denied. Give your user read access (for example chmod u+r) and try again.' };
  if (code === 'ELOOP') return { code: 'unreadable', message: 'is a loop of symbolic links. Remove the link and try again.' };
  if (code === 'EISDIR') return { code: 'unreadable', message: 'is a folder, not a file. Give the path of a file.' };
  if (code === 'EIO') return { code: 'unreadable', message: 'cannot be read: input/output error (the disk or network share may be failing). Copy it again and retry.' };
  return { code: 'unreadable', message: `cannot be read (${code || (e instanceof Error ? e.message : String(e))}). Check the file and the disk, then try again.` };
}

/**
 * Reads a regular file of at most `maxBytes` bytes. Throws `DatasetError` whose message starts
 * with a verb phrase to follow the file's name ("is a named pipe …", "is too large …"):
 * `not_found`, `unreadable`, `unsupported` (not a regular file), `empty`, `too_large`.
 */
export async function readRegularFile(file: UserPath, maxBytes: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const m = fsMessage(e);
    throw new DatasetError(m.code, m.message);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new DatasetError('unsupported', `is ${kindOf(st)}, not a regular file, so it was not read. Give the path of an ordinary file.`);
    }
    if (st.size === 0) throw new DatasetError('empty', 'is empty (0 bytes). Copy it again from its source.');
    if (st.size > maxBytes) throw new DatasetError('too_large', `is too large (${mb(st.size)}; the limit is ${mb(maxBytes)}). Use a smaller file.`, { bytes: st.size });
    const buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n === buf.length) throw new DatasetError('unreadable', 'grew while it was being read. Wait until it is completely written, then try again.');
    if (n === 0) throw new DatasetError('empty', 'is empty (0 bytes). Copy it again from its source.');
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const m = fsMessage(e);
    throw new DatasetError(m.code, m.message);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
