import { IsBoolean, IsEmail, IsOptional, IsString, Length, Matches } from 'class-validator';

/** Body of PUT /orgs/:id/settings: the whole settings document (PUT replaces it). */
export class ReplaceOrgSettingsDto {
  @IsString()
  @Length(2, 120)
  displayName!: string;

  @Matches(/^#[0-9a-fA-F]{6}$/, { message: 'brandColor must be a hex colour such as #1f4e79' })
  brandColor!: string;

  @IsOptional()
  @IsEmail({}, { message: 'supportEmail must be an email address' })
  supportEmail?: string | null;

  @IsString()
  @Length(0, 500)
  verificationMessage!: string;

  @IsBoolean()
  showHolderEmail!: boolean;
}
