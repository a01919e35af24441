import { type ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

/** An error raised by middleware about the request (body-parser's 400/413/415…). */
interface RequestError {
  status: number;
  expose: boolean;
  message: string;
}

function isRequestError(err: unknown): err is RequestError {
  const e = err as Partial<RequestError> | null;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true;
}

/**
 * Body-parser errors are not HttpExceptions, so Nest would log a client's
 * oversized or malformed body at error level as if the server had failed.
 * They are the client's fault: answer with their status and message as an
 * HttpException, which is not logged as a server error.
 */
@Catch()
export class ClientErrorFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() === 'http' && isRequestError(exception)) {
      super.catch(new HttpException(exception.message, exception.status), host);
      return;
    }
    super.catch(exception, host);
  }
}
