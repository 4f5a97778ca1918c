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

  /** Access tokens only: a token with an audience (a queue-board ticket) is not one. */
  validate(claims: AccessTokenClaims & { aud?: unknown }): Principal | false {
    if (claims.aud !== undefined) return false;
    return this.auth.principalFromClaims(claims);
  }
}
