import { IsEmail, IsOptional, IsString, Length } from 'class-validator';

/** Body of PATCH /users/:id/profile: any subset of the editable fields. */
export class UpdateProfileDto {
  @IsOptional()
  @IsString()
  @Length(1, 120)
  displayName?: string;

  @IsOptional()
  @IsEmail({}, { message: 'email must be an email address' })
  email?: string;

  @IsOptional()
  @IsString()
  @Length(0, 200)
  headline?: string;
}
