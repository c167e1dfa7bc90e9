import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG } from '../config/app-config.token';
import type { AppConfig } from '../config/app-config';

/**
 * Guards the admin routes with ADMIN_TOKEN: without one configured the routes do not exist (404); otherwise the
 * token must come as `Authorization: Bearer <token>` (or `?token=` for the page a browser opens): missing 401,
 * wrong 403. Tokens are compared in constant time.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.adminToken === undefined ? undefined : digest(config.adminToken);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) throw new NotFoundException();
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; query: Record<string, unknown> }>();
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : typeof request.query.token === 'string' ? request.query.token : undefined;
    if (!given) throw new UnauthorizedException('admin token required');
    if (!timingSafeEqual(digest(given), this.expected)) throw new ForbiddenException('wrong admin token');
    return true;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
