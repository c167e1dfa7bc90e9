import { Logger } from '@nestjs/common';

/** Nest's logger, plus warnings said once per id: a misconfiguration is reported, not repeated on every call. */
export class OnceLogger extends Logger {
  private readonly warned = new Set<string>();

  warnOnce(id: string, message: string): void {
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.warn(message);
  }
}
