import { Controller, Get, Param } from '@nestjs/common';
import { ParseIdPipe } from '../common/ids';

/**
 * A verification-shaped answer built once at start-up: same framework path as `GET /credentials/:id` (Fastify,
 * Nest routing, the global pipes, JSON serialisation of a body of about the same size), minus the cache and the
 * database. The load scenario (`npm run bench:ceremony`) measures it as the ceiling the cached path is held to.
 */
const PING_BODY = {
  status: 'valid',
  checkedAt: '2025-01-01T00:00:00.000Z',
  credential: {
    id: 'cred_00000000000000000000',
    orgId: 'org_00000000000000000000',
    holderId: 'usr_00000000000000000000',
    title: 'Bachelor of Science in Computer Science',
    description: 'Awarded with honours at the annual award ceremony of the faculty of science and engineering.',
    status: 'active',
    issuedAt: '2025-01-01T00:00:00.000Z',
    expiresAt: null,
    revokedAt: null,
    revocationReason: null,
  },
  issuer: {
    id: 'org_00000000000000000000',
    name: 'Static Ping University',
    brandColor: '#1f4e79',
    message: 'This certificate was issued by Static Ping University and can be verified at any time.',
    supportEmail: 'registrar@static-ping.example',
  },
} as const;

@Controller('static')
export class StaticController {
  /** Always the same verification-shaped body; no cache, no database. */
  @Get('ping')
  ping(): typeof PING_BODY {
    return PING_BODY;
  }

  /**
   * The same body behind the verification route's id parameter (same pipe, and the global validation pipe): what
   * Nest's parameter handling costs by itself, shown beside the ceiling in the load scenario.
   */
  @Get('ping/:id')
  pingWithId(@Param('id', new ParseIdPipe('credential')) _id: string): typeof PING_BODY {
    return PING_BODY;
  }
}
