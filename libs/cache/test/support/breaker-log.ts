import { captureLogs } from './log-capture';

/**
 * Records what Nest's Logger is asked to log at error and log level (silently), so chaos tests can assert that an
 * outage is logged once when the breaker opens and once when it closes, and when that happened.
 * @example
 * const logs = recordBreakerLogs();
 * ...; expect(logs.opened()).toHaveLength(1); logs.restore();
 */
export function recordBreakerLogs() {
  const logs = captureLogs(['error', 'log']);
  return {
    ...logs,
    /** 'store unavailable' lines (the breaker opened). */
    opened: () => logs.lines.filter((line) => line.level === 'error' && line.message.includes('store unavailable')),
    /** 'answering again' lines (the breaker closed). */
    recovered: () => logs.lines.filter((line) => line.level === 'log' && line.message.includes('answering again')),
  };
}
