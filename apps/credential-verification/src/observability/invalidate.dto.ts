import { IsOptional, IsString, Length } from 'class-validator';

/** Body of `POST /admin/cache/invalidate`: one key, or a group (the key and every key under `group:`). */
export class InvalidateDto {
  /** A key relative to the namespace, e.g. `credential:cred_123`. */
  @IsOptional()
  @IsString()
  @Length(1, 512)
  key?: string;

  /** A group key, e.g. `org:org_123`: deletes it and every key under `org:org_123:`. */
  @IsOptional()
  @IsString()
  @Length(1, 512)
  group?: string;
}
