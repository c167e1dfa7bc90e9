import { Module } from '@nestjs/common';
import { OrgsModule } from '../orgs/orgs.module';
import { CredentialsController } from './credentials.controller';
import { CredentialsRepository } from './credentials.repository';
import { CredentialsService } from './credentials.service';
import { VerificationService } from './verification.service';

@Module({
  imports: [OrgsModule],
  controllers: [CredentialsController],
  providers: [CredentialsRepository, CredentialsService, VerificationService],
  exports: [CredentialsService],
})
export class CredentialsModule {}
