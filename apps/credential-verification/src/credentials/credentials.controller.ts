import { Body, Controller, Get, Headers, HttpCode, NotFoundException, Param, Post, Res, UseGuards } from '@nestjs/common';
import { Cacheable } from '@app/cache';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { AuthGuard, CurrentPrincipal, type Principal } from '../auth';
import { wantsHtml } from '../common/http';
import { ParseIdPipe } from '../common/ids';
import type { Credential } from './credential.model';
import { CredentialsService } from './credentials.service';
import { IssueCredentialDto } from './dto/issue-credential.dto';
import { RevokeCredentialDto } from './dto/revoke-credential.dto';
import { renderNotFoundPage, renderVerificationPage } from './verification-page';
import { type Verification, VerificationService } from './verification.service';

@Controller()
export class CredentialsController {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly verification: VerificationService,
  ) {}

  @Post('credentials')
  @UseGuards(AuthGuard)
  async issue(@Body() body: IssueCredentialDto, @CurrentPrincipal() principal: Principal): Promise<Credential> {
    return this.credentials.issue(principal.orgId, body);
  }

  /**
   * Public verification (the QR code's target). JSON for API clients; an HTML page when the client prefers
   * text/html. Both are rendered from the same cached reads; the status is derived per request. Rate-limited per
   * client IP (RateLimitModule).
   */
  @Get('credentials/:id')
  @UseGuards(ThrottlerGuard)
  async verify(
    @Param('id', new ParseIdPipe('credential')) id: string,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Verification | string> {
    const html = wantsHtml(accept);
    // Browsers and proxies must revalidate: a revocation has to show on the very next scan.
    reply.header('Vary', 'Accept').header('Cache-Control', 'no-cache');
    const verification = await this.verification.verify(id);
    if (!html) {
      if (!verification) throw new NotFoundException(`credential ${id} not found`);
      return verification;
    }
    reply.type('text/html; charset=utf-8');
    if (!verification) {
      reply.status(404);
      return renderNotFoundPage(id);
    }
    return renderVerificationPage(verification);
  }

  /** Revokes a credential of the token's organisation; idempotent. */
  @Post('credentials/:id/revoke')
  @HttpCode(200)
  @UseGuards(AuthGuard)
  async revoke(
    @Param('id', new ParseIdPipe('credential')) id: string,
    @Body() body: RevokeCredentialDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Credential> {
    return this.credentials.revoke(principal.orgId, id, body.reason);
  }

  /**
   * A holder's credentials. Cached here, on the controller handler (X-Cache tells HIT or MISS), for 10 minutes;
   * issue and revoke evict it. Pipes run before the cache, so the key is built from the validated id, and a
   * malformed one is rejected before anything is read or cached.
   */
  @Get('holders/:holderId/credentials')
  @Cacheable({ key: 'holder:{0}:credentials', policy: 'holderCredentials' })
  async listByHolder(@Param('holderId', new ParseIdPipe('user', 'holderId')) holderId: string): Promise<{ holderId: string; credentials: Credential[] }> {
    const credentials = await this.credentials.listByHolder(holderId);
    if (!credentials) throw new NotFoundException(`holder ${holderId} not found`);
    return { holderId, credentials };
  }
}
