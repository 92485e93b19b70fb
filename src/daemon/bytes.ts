/** What a scan of the bytes received so far concludes: wait for more, refuse (why), or the parsed value. */
export type Verdict<T> = { kind: 'more' } | { kind: 'bad'; reason: string } | { kind: 'done'; value: T };

export const MORE = { kind: 'more' } as const;

/**
 * What a client has sent so far on one connection: the first chunk is kept
 * as it is (the usual case, a whole request in one read), later chunks are
 * appended to a buffer that doubles, so a client feeding single bytes costs
 * linear time, never quadratic.
 */
export class Received {
  private data: Buffer | null = null;
  private owned = false;
  length = 0;

  push(chunk: Buffer): void {
    if (this.data === null) {
      this.data = chunk;
      this.length = chunk.length;
      return;
    }
    const need = this.length + chunk.length;
    if (!this.owned || need > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.owned ? this.data.length * 2 : need * 2));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
      this.owned = true;
    }
    chunk.copy(this.data, this.length);
    this.length = need;
  }

  /** The bytes received so far (a view, valid until the next push). */
  bytes(): Buffer {
    return this.data === null ? Buffer.alloc(0) : this.data.subarray(0, this.length);
  }
}

/** Index of the first byte before `end` that is not printable ASCII (space to `~`, and `\n` if allowed), or -1. */
export function firstUnprintable(b: Buffer, end: number, newline = true): number {
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if ((c < 0x20 && !(newline && c === 0x0a)) || c > 0x7e) return i;
  }
  return -1;
}

/** Why a byte is refused: non-ASCII, or an ASCII control character. */
export function describeByte(c: number): string {
  return c >= 0x80 ? `non-ASCII byte 0x${c.toString(16)}` : `control character 0x${c.toString(16).padStart(2, '0')}`;
}
