'use strict';
/**
 * Preloaded into the app when the ceremony bench profiles it (CEREMONY_CPU_PROF=1): SIGUSR2 exits normally, so that
 * `node --cpu-prof` writes its profile (a process ended by SIGTERM, as Nest's shutdown hooks re-raise it, writes none).
 */
process.on('SIGUSR2', () => process.exit(0));
