import { BadRequestException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { CacheEvict, Cacheable, WriteThrough } from '@app/cache';
import type { Credential } from './credential.model';
import { CredentialsRepository } from './credentials.repository';
import type { IssueCredentialDto } from './dto/issue-credential.dto';

/**
 * Credentials and their caching. The verify path (`findById`) is cache-aside; issue and revoke write the new
 * record through to the cache, so a revoked credential is never served as active, on any instance.
 */
@Injectable()
export class CredentialsService {
  constructor(private readonly repository: CredentialsRepository) {}

  /**
   * The hot path: every QR scan lands here. Cached under `credential:<id>` (policy `credential`); an unknown id
   * caches `null` briefly (the policy's negative TTL), so scans of a bad code do not all reach the database.
   */
  @Cacheable({ key: (id: string) => ['credential', id], policy: 'credential' })
  async findById(id: string): Promise<Credential | null> {
    return this.repository.findById(id);
  }

  /** Issues a credential for `orgId`; it is cached at once, and the holder's cached list is evicted. */
  @WriteThrough({ key: 'credential:{result.id}', policy: 'credential' })
  @CacheEvict({ key: 'holder:{result.holderId}:credentials' })
  async issue(orgId: string, input: IssueCredentialDto): Promise<Credential> {
    const credential = await this.repository.insert({
      orgId,
      holderId: input.holderId,
      title: input.title,
      description: input.description ?? '',
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
    });
    if (!credential) throw new BadRequestException(`holderId ${input.holderId} is not a known user`);
    return credential;
  }

  /**
   * Revokes a credential of `orgId`. Write-through: the revoked record replaces the cached one in the same call,
   * so the next verification anywhere shows it revoked, without waiting for the 10-minute TTL.
   */
  @WriteThrough({ key: 'credential:{result.id}', policy: 'credential' })
  @CacheEvict({ key: 'holder:{result.holderId}:credentials' })
  async revoke(orgId: string, id: string, reason: string): Promise<Credential> {
    const outcome = await this.repository.revoke(id, orgId, reason);
    if (outcome === 'not-found') throw new NotFoundException(`credential ${id} not found`);
    if (outcome === 'other-org') throw new ForbiddenException(`credential ${id} was issued by another organisation`);
    return outcome;
  }

  /** A holder's credentials, newest first; null when the holder does not exist. Cached by the controller. */
  async listByHolder(holderId: string, limit = 100): Promise<Credential[] | null> {
    const credentials = await this.repository.listByHolder(holderId, limit);
    if (credentials.length > 0) return credentials;
    return (await this.repository.holderExists(holderId)) ? [] : null;
  }
}
