/**
 * What the operator API shows of a client. Kept free of imports so that the
 * status page's browser code can use the same type without the server's.
 */
export interface ClientView {
  id: string;
  userId: string | null;
  remoteAddress: string | null;
  connectedAt: string;
  lastPongAt: string | null;
  rttMs: number | null;
  subscriptions: string[];
  bufferedAmount: number;
}
