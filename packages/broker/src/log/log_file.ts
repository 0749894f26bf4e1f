// The file seam of the log: positional async reads and writes on one file, an explicit
// sync(), truncate, close. `nodeLogIo` is the real one (fs/promises FileHandle, never sync
// I/O); tests wrap it to inject disk-full and I/O errors into real files.
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

export interface LogFile {
  /** Writes all of `buf` at `position` (looping over short writes). */
  write(buf: Buffer, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `buf[offset..]`; returns the bytes read. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface LogIo {
  /** Opens `path` read-write, creating it when `create` (and failing if absent otherwise). */
  openFile(path: string, create: boolean): Promise<LogFile>;
}

class NodeLogFile implements LogFile {
  constructor(private readonly fh: FileHandle) {}

  async write(buf: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`short write: 0 bytes written at ${position + done}`);
      done += bytesWritten;
    }
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  sync(): Promise<void> {
    // fdatasync: the data and the file length; mtime is not needed for recovery.
    return this.fh.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

export const nodeLogIo: LogIo = {
  async openFile(path: string, create: boolean): Promise<LogFile> {
    // "r+" (not "a"): positional writes must land where asked, also after a truncation.
    const fh = await open(path, create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR);
    return new NodeLogFile(fh);
  },
};
