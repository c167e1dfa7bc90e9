import { BadRequestException, Body, Controller, ForbiddenException, Get, NotFoundException, Param, Patch, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentPrincipal, type Principal } from '../auth';
import { ParseIdPipe } from '../common/ids';
import { UpdateProfileDto } from './dto/update-profile.dto';
import type { UserProfile } from './user-profile.model';
import { UsersService } from './users.service';

@Controller('users/:id/profile')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  async get(@Param('id', new ParseIdPipe('user')) userId: string): Promise<UserProfile> {
    const profile = await this.users.getProfile(userId);
    if (!profile) throw new NotFoundException(`user ${userId} not found`);
    return profile;
  }

  /** A user's own token may edit the profile. */
  @Patch()
  @UseGuards(AuthGuard)
  async update(
    @Param('id', new ParseIdPipe('user')) userId: string,
    @Body() body: UpdateProfileDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UserProfile> {
    if (principal.userId !== userId) throw new ForbiddenException(`this token cannot edit the profile of ${userId}`);
    if (Object.values(body).every((value) => value === undefined)) {
      throw new BadRequestException('give at least one of displayName, email, headline');
    }
    const profile = await this.users.updateProfile(userId, body);
    if (!profile) throw new NotFoundException(`user ${userId} not found`);
    return profile;
  }
}
