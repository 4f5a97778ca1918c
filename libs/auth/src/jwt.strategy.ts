import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig, Principal } from '@app/core';
import { AccessTokenClaims, AuthService } from './auth.service';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: AppConfig,
    private readonly auth: AuthService,
  ) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), ignoreExpiration: false, secretOrKey: config.jwt.secret, algorithms: ['HS256'] });
  }

  /**
   * Access tokens only: a token with an audience (a queue-board ticket) is not one, nor one
   * without an expiry (every token the platform issues has one; a token that never expires
   * could only have been made with a leaked secret, and would outlive its rotation's purpose).
   */
  validate(claims: AccessTokenClaims & { aud?: unknown; exp?: unknown }): Principal | false {
    if (claims.aud !== undefined || typeof claims.exp !== 'number') return false;
    return this.auth.principalFromClaims(claims);
  }
}
