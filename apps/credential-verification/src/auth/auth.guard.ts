import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthService } from './auth.service';
import { PRINCIPAL_REQUEST_KEY } from './principal';

/** Reads `Authorization: Bearer <token>` and verifies it against the database on every request. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> } & Record<string, unknown>>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedException('Authorization: Bearer <token> is required');
    const principal = await this.auth.verifyToken(token);
    if (!principal) throw new UnauthorizedException('the bearer token is unknown or revoked');
    request[PRINCIPAL_REQUEST_KEY] = principal;
    return true;
  }
}

/** The token of an `Authorization: Bearer <token>` header, if well formed. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S{8,512})$/i.exec(header ?? '');
  return match?.[1];
}
