import { Logger } from '@nestjs/common';

export type LogLevel = 'log' | 'warn' | 'error' | 'debug';

/** A line some Nest Logger was asked to log, at which level, and when (performance.now()). */
export interface LoggedLine {
  readonly at: number;
  readonly level: LogLevel;
  readonly message: string;
}

/**
 * Silently records what Nest's Logger instances log at `levels` (all four by default) until `restore()`.
 * @example
 * const logs = captureLogs(['warn']);
 * ...; expect(logs.messages('warn')).toHaveLength(1); logs.restore();
 */
export function captureLogs(levels: readonly LogLevel[] = ['log', 'warn', 'error', 'debug']) {
  const lines: LoggedLine[] = [];
  const spies = levels.map((level) =>
    jest.spyOn(Logger.prototype, level).mockImplementation(((message: unknown) => {
      lines.push({ at: performance.now(), level, message: String(message) });
    }) as never),
  );
  return {
    lines,
    /** The messages recorded so far, at `level` only when given. */
    messages: (level?: LogLevel) => lines.filter((line) => level === undefined || line.level === level).map((line) => line.message),
    /** Forgets what was recorded so far. */
    clear: () => {
      lines.length = 0;
    },
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

export type LogCapture = ReturnType<typeof captureLogs>;
