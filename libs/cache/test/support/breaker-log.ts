import { Logger } from '@nestjs/common';

/** A line the store guard logged, and when (performance.now()). */
export interface LoggedLine {
  readonly at: number;
  readonly level: 'error' | 'log';
  readonly message: string;
}

/**
 * Records what Nest's Logger is asked to log at error and log level (silently), so chaos tests can assert that an
 * outage is logged once when the breaker opens and once when it closes, and when that happened.
 * @example
 * const logs = recordBreakerLogs();
 * ...; expect(logs.opened()).toHaveLength(1); logs.restore();
 */
export function recordBreakerLogs() {
  const lines: LoggedLine[] = [];
  const record = (level: LoggedLine['level']) =>
    function (this: Logger, message: unknown) {
      lines.push({ at: performance.now(), level, message: String(message) });
    };
  const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(record('error'));
  const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(record('log'));
  return {
    lines,
    /** 'store unavailable' lines (the breaker opened). */
    opened: () => lines.filter((line) => line.level === 'error' && line.message.includes('store unavailable')),
    /** 'answering again' lines (the breaker closed). */
    recovered: () => lines.filter((line) => line.level === 'log' && line.message.includes('answering again')),
    /** Forgets what was recorded so far. */
    clear: () => {
      lines.length = 0;
    },
    restore: () => {
      error.mockRestore();
      log.mockRestore();
    },
  };
}
