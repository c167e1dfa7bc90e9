import { IsString, Length } from 'class-validator';

/** Body of POST /credentials/:id/revoke. */
export class RevokeCredentialDto {
  @IsString()
  @Length(3, 500)
  reason!: string;
}
