export { AuthGuard, bearerToken } from './auth.guard';
export { AuthModule } from './auth.module';
export { AuthService, hashToken } from './auth.service';
export { CurrentPrincipal, type Principal } from './principal';
