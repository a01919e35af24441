import { type ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseRpcExceptionFilter, RpcException } from '@nestjs/microservices';
import type { Observable } from 'rxjs';

/**
 * Commands answer like the HTTP API: `{ statusCode, error, message }`. Sits on
 * the controller, so the app's global HTTP filter (inherited by the hybrid
 * app) never sees an RPC exception.
 */
@Catch()
export class TransportExceptionFilter extends BaseRpcExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : exception.message;
      return super.catch(
        new RpcException({ statusCode: exception.getStatus(), error: errorName(exception.getStatus()), message }),
        host,
      );
    }
    return super.catch(exception, host);
  }
}

function errorName(status: number): string {
  return { 400: 'Bad Request', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
}
