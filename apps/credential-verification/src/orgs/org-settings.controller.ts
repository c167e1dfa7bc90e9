import { Body, Controller, ForbiddenException, Get, NotFoundException, Param, Put, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentPrincipal, type Principal } from '../auth';
import { ParseIdPipe } from '../common/ids';
import { ReplaceOrgSettingsDto } from './dto/replace-org-settings.dto';
import type { OrgSettings } from './org-settings.model';
import { OrgSettingsService } from './org-settings.service';

@Controller('orgs/:id/settings')
export class OrgSettingsController {
  constructor(private readonly settings: OrgSettingsService) {}

  @Get()
  async get(@Param('id', new ParseIdPipe('org')) orgId: string): Promise<OrgSettings> {
    const settings = await this.settings.get(orgId);
    if (!settings) throw new NotFoundException(`organisation ${orgId} not found`);
    return settings;
  }

  /** Only a token of the organisation itself may change its settings. */
  @Put()
  @UseGuards(AuthGuard)
  async replace(
    @Param('id', new ParseIdPipe('org')) orgId: string,
    @Body() body: ReplaceOrgSettingsDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<OrgSettings> {
    if (principal.orgId !== orgId) throw new ForbiddenException(`this token cannot change the settings of ${orgId}`);
    const settings = await this.settings.replace(orgId, body);
    if (!settings) throw new NotFoundException(`organisation ${orgId} not found`);
    return settings;
  }
}
