import { open, type FileHandle } from 'node:fs/promises';
import { detectFileFormat, HEAD_BYTES } from './detect.js';
import type { ContentFormat, ExtractHints } from './types.js';

export interface DetectedFile {
  format: ContentFormat;
  bytes: Uint8Array;
}

/**
 * Reads the head, detects the format, then reads the rest into the same buffer: no byte is read
 * twice, and nothing past the head is read for a file that is going to be refused anyway.
 */
export async function readDetected(path: string, hints: ExtractHints, signal: AbortSignal | undefined): Promise<DetectedFile> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const head = await fill(file, new Uint8Array(Math.min(size, HEAD_BYTES)), 0);
    const format = await detectFileFormat(path, head, size, hints);
    signal?.throwIfAborted();
    if (head.byteLength === size) return { format, bytes: head };
    const bytes = new Uint8Array(size);
    bytes.set(head);
    return { format, bytes: await fill(file, bytes, head.byteLength) };
  } finally {
    await file.close();
  }
}

/** Reads into `buffer` from `offset` until it is full or the file ends; returns the filled part. */
async function fill(file: FileHandle, buffer: Uint8Array, offset: number): Promise<Uint8Array> {
  let position = offset;
  while (position < buffer.byteLength) {
    const { bytesRead } = await file.read(buffer, position, buffer.byteLength - position, position);
    if (bytesRead === 0) break;
    position += bytesRead;
  }
  return buffer.subarray(0, position);
}
