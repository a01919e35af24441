import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Env } from '../config/env.validation';
import { isLoopback } from './admin-http-gate';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Protects the operator API with ADMIN_TOKEN (a bearer token) when it is
 * set; without it the API answers loopback clients only (a local or sidecar
 * deployment). adminHttpGate applies the same rule before the body is read;
 * this guard keeps it for any app that mounts AdminModule without the gate.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(config: ConfigService<Env, true>) {
    const token = config.get('ADMIN_TOKEN', { infer: true });
    this.expected = token === undefined ? undefined : digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (!this.expected) {
      if (isLoopback(request.socket.remoteAddress)) return true;
      throw new ForbiddenException('the operator API answers only on loopback while ADMIN_TOKEN is unset');
    }
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // Digests of equal length, so the comparison time says nothing about the token.
    if (!match || !timingSafeEqual(digest(match[1]), this.expected)) {
      throw new UnauthorizedException('a valid admin bearer token is required');
    }
    return true;
  }
}
