/** How an organisation presents itself on its credentials' verification pages. */
export interface OrgSettings {
  readonly orgId: string;
  readonly displayName: string;
  readonly brandColor: string;
  readonly supportEmail: string | null;
  readonly verificationMessage: string;
  readonly showHolderEmail: boolean;
  readonly updatedAt: string;
}

export interface OrgSettingsRow {
  org_id: string;
  display_name: string;
  brand_color: string;
  support_email: string | null;
  verification_message: string;
  show_holder_email: boolean;
  updated_at: Date | string;
}

export function toOrgSettings(row: OrgSettingsRow): OrgSettings {
  return {
    orgId: row.org_id,
    displayName: row.display_name,
    brandColor: row.brand_color,
    supportEmail: row.support_email,
    verificationMessage: row.verification_message,
    showHolderEmail: row.show_holder_email,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
