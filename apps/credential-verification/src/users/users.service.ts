import { Injectable } from '@nestjs/common';
import { CacheEvict, Cacheable } from '@app/cache';
import { Database } from '../database';
import type { UpdateProfileDto } from './dto/update-profile.dto';
import { toUserProfile, type UserProfile, type UserRow } from './user-profile.model';

const COLUMNS = 'id, org_id, display_name, email, headline, updated_at';

@Injectable()
export class UsersService {
  constructor(private readonly db: Database) {}

  /** A profile, or null (not cached: the `userProfile` policy has no negative TTL). */
  @Cacheable({ key: 'user:{0}:profile', policy: 'userProfile' })
  async getProfile(userId: string): Promise<UserProfile | null> {
    const [row] = await this.db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [userId]);
    return row ? toUserProfile(row) : null;
  }

  /** Updates the given fields; the cached profile is evicted, so the next read shows the change. */
  @CacheEvict({ key: 'user:{0}:profile' })
  async updateProfile(userId: string, changes: UpdateProfileDto): Promise<UserProfile | null> {
    const [row] = await this.db.query<UserRow>(
      `UPDATE users
          SET display_name = COALESCE($2, display_name), email = COALESCE($3, email),
              headline = COALESCE($4, headline), updated_at = now()
        WHERE id = $1
        RETURNING ${COLUMNS}`,
      [userId, changes.displayName ?? null, changes.email ?? null, changes.headline ?? null],
    );
    return row ? toUserProfile(row) : null;
  }
}
