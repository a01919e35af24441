import type { IncomingMessage } from 'node:http';
import type { Admission } from '../interfaces/client-record.interface';

/** Carries the gate's decision from the upgrade to registration, on the request itself. */
const ADMISSION = Symbol('lifeline.admission');
type AdmittedRequest = IncomingMessage & { [ADMISSION]?: Admission };

export function setAdmission(request: IncomingMessage, admission: Admission): void {
  (request as AdmittedRequest)[ADMISSION] = admission;
}

export function admissionOf(request: IncomingMessage | undefined): Admission | undefined {
  return request && (request as AdmittedRequest)[ADMISSION];
}
