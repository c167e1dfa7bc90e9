import { Body, Controller, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { IsString, Length } from 'class-validator';
import { AuthService } from './auth.service';
import type { Principal } from './principal';

export class VerifyTokenDto {
  @IsString()
  @Length(8, 512)
  token!: string;
}

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Says whether a token is valid and whom it speaks for; 401 when it is not. Never served from a cache. */
  @Post('verify-token')
  @HttpCode(200)
  async verifyToken(@Body() body: VerifyTokenDto): Promise<{ valid: true } & Principal> {
    const principal = await this.auth.verifyToken(body.token);
    if (!principal) throw new UnauthorizedException('the token is unknown or revoked');
    return { valid: true, ...principal };
  }
}
