import { Injectable } from '@nestjs/common';
import { CacheEvict, Cacheable } from '@app/cache';
import { Database } from '../database';
import type { ReplaceOrgSettingsDto } from './dto/replace-org-settings.dto';
import { type OrgSettings, type OrgSettingsRow, toOrgSettings } from './org-settings.model';

const COLUMNS = 'org_id, display_name, brand_color, support_email, verification_message, show_holder_email, updated_at';

@Injectable()
export class OrgSettingsService {
  constructor(private readonly db: Database) {}

  /** An organisation's settings, or null. Read on every verification page, so cached (policy `orgSettings`). */
  @Cacheable({ key: 'org:{0}:settings', policy: 'orgSettings' })
  async get(orgId: string): Promise<OrgSettings | null> {
    const [row] = await this.db.query<OrgSettingsRow>(`SELECT ${COLUMNS} FROM org_settings WHERE org_id = $1`, [orgId]);
    return row ? toOrgSettings(row) : null;
  }

  /** Replaces the settings; the cached copy is evicted so every instance reads the new ones on its next request. */
  @CacheEvict({ key: 'org:{0}:settings' })
  async replace(orgId: string, settings: ReplaceOrgSettingsDto): Promise<OrgSettings | null> {
    const [row] = await this.db.query<OrgSettingsRow>(
      `UPDATE org_settings
          SET display_name = $2, brand_color = $3, support_email = $4, verification_message = $5,
              show_holder_email = $6, updated_at = now()
        WHERE org_id = $1
        RETURNING ${COLUMNS}`,
      [orgId, settings.displayName, settings.brandColor.toLowerCase(), settings.supportEmail ?? null, settings.verificationMessage, settings.showHolderEmail],
    );
    return row ? toOrgSettings(row) : null;
  }
}
