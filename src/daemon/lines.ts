/**
 * Splits a byte stream into lines, and lines longer than `maxBytes` into
 * pieces of at most that size — never dropping any. (readline would buffer
 * an endless line whole.) Pieces are cut on UTF-8 character boundaries.
 */
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  constructor(
    private readonly maxChars: number,
    private readonly onLine: (line: string, continued: boolean) => void,
  ) {}

  push(chunk: Buffer | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl === -1) break;
      this.emit(this.buffer.slice(start, nl).replace(/\r$/, ''), false);
      start = nl + 1;
    }
    this.buffer = this.buffer.slice(start);
    while (this.buffer.length > this.maxChars) {
      let cut = this.maxChars;
      // Do not split a surrogate pair.
      const code = this.buffer.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--;
      this.onLine(this.buffer.slice(0, cut), true);
      this.buffer = this.buffer.slice(cut);
    }
  }

  /** The rest after the stream ended (a last line without a newline). */
  end(): void {
    this.buffer += this.decoder.end();
    if (this.buffer.length > 0) this.emit(this.buffer, false);
    this.buffer = '';
  }

  private emit(line: string, continued: boolean): void {
    if (line.length <= this.maxChars) {
      this.onLine(line, continued);
      return;
    }
    for (let i = 0; i < line.length; i += this.maxChars) {
      this.onLine(line.slice(i, i + this.maxChars), i + this.maxChars < line.length);
    }
  }
}
