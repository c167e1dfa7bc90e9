import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Who an API token speaks for: an organisation, and optionally one of its users. */
export interface Principal {
  readonly orgId: string;
  readonly userId: string | null;
  readonly label: string;
}

/** Where {@link AuthGuard} leaves the verified principal on the request. */
export const PRINCIPAL_REQUEST_KEY = 'principal';

/** The principal {@link AuthGuard} verified for this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<Record<string, Principal>>()[PRINCIPAL_REQUEST_KEY];
});
