import { IsDateString, IsOptional, IsString, Length, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { idFormatMessage, isId } from '../../common/ids';

@ValidatorConstraint({ name: 'userId' })
class IsUserId implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isId('user', value);
  }
  defaultMessage(): string {
    return idFormatMessage('user', 'holderId');
  }
}

@ValidatorConstraint({ name: 'future' })
class IsInTheFuture implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && new Date(value).getTime() > Date.now();
  }
  defaultMessage(): string {
    return 'expiresAt must be in the future';
  }
}

/** Body of POST /credentials. The issuing organisation is the bearer token's. */
export class IssueCredentialDto {
  @Validate(IsUserId)
  holderId!: string;

  @IsString()
  @Length(3, 200)
  title!: string;

  @IsOptional()
  @IsString()
  @Length(0, 2000)
  description?: string;

  @IsOptional()
  @IsDateString({ strict: true }, { message: 'expiresAt must be an ISO 8601 date, e.g. 2030-06-30T00:00:00Z' })
  @Validate(IsInTheFuture)
  expiresAt?: string;
}
