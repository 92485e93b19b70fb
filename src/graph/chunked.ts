/** Collects output in large pieces, so that a big graph is written in few calls. */
export class Chunked {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly write: (s: string) => void) {}

  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) this.flush();
  }

  flush(): void {
    if (this.parts.length) this.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}
