import { Injectable } from '@nestjs/common';
import { OrgSettingsService } from '../orgs/org-settings.service';
import { type Credential, type VerificationStatus, verificationStatus } from './credential.model';
import { CredentialsService } from './credentials.service';

/** The answer to "is this certificate genuine?", for API clients and for the HTML page alike. */
export interface Verification {
  readonly status: VerificationStatus;
  readonly checkedAt: string;
  readonly credential: Credential;
  readonly issuer: { readonly id: string; readonly name: string; readonly brandColor: string; readonly message: string; readonly supportEmail: string | null };
}

/** Composes a verification from two cached reads (credential, issuer settings); derives the status per request. */
@Injectable()
export class VerificationService {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly orgSettings: OrgSettingsService,
  ) {}

  /** The verification of a credential, or null when no credential has this id. */
  async verify(id: string, now = new Date()): Promise<Verification | null> {
    const credential = await this.credentials.findById(id);
    if (!credential) return null;
    const settings = await this.orgSettings.get(credential.orgId);
    return {
      status: verificationStatus(credential, now),
      checkedAt: now.toISOString(),
      credential,
      issuer: {
        id: credential.orgId,
        name: settings?.displayName ?? credential.orgId,
        brandColor: settings?.brandColor ?? '#1f4e79',
        message: settings?.verificationMessage ?? '',
        supportEmail: settings?.supportEmail ?? null,
      },
    };
  }
}
