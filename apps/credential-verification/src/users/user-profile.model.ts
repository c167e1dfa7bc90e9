/** A user's public profile (holders of credentials are users). */
export interface UserProfile {
  readonly id: string;
  readonly orgId: string | null;
  readonly displayName: string;
  readonly email: string;
  readonly headline: string;
  readonly updatedAt: string;
}

export interface UserRow {
  id: string;
  org_id: string | null;
  display_name: string;
  email: string;
  headline: string;
  updated_at: Date | string;
}

export function toUserProfile(row: UserRow): UserProfile {
  return {
    id: row.id,
    orgId: row.org_id,
    displayName: row.display_name,
    email: row.email,
    headline: row.headline,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
