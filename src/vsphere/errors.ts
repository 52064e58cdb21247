// The one error type of both transports (SOAP and REST) and of everything built on them; mapping a
// SOAP fault to a code is soap/faults.ts's job.

/** Stable error codes for everything that can go wrong talking to vCenter (undici-style). */
export type VsphereErrorCode =
  | 'VSPHERE_NOT_AUTHENTICATED'
  | 'VSPHERE_INVALID_LOGIN'
  | 'VSPHERE_MANAGED_OBJECT_NOT_FOUND'
  | 'VSPHERE_RESTRICTED_BY_ADMINISTRATOR'
  | 'VSPHERE_INVALID_ARGUMENT'
  | 'VSPHERE_FAULT'
  | 'VSPHERE_HTTP_STATUS'
  | 'VSPHERE_TIMEOUT'
  | 'VSPHERE_RESPONSE_TOO_LARGE'
  | 'VSPHERE_CONNECTION'
  | 'VSPHERE_TLS'
  | 'VSPHERE_BAD_RESPONSE'
  | 'VSPHERE_ABORTED'
  | 'VSPHERE_CLOSED'
  | 'VSPHERE_INVENTORY_LOADING'
  | 'VSPHERE_PASSWORD_UNREADABLE';

/** Details a caller may branch on; never contains credentials or session cookies. */
export interface VsphereErrorDetails {
  /** vim25 fault type (e.g. "InvalidLogin") for SOAP faults. */
  faultType?: string;
  /** HTTP status for VSPHERE_HTTP_STATUS. */
  statusCode?: number;
  /** SOAP method, or REST request (`GET /rest/…`), that failed. */
  method?: string;
  /** The object a ManagedObjectNotFound fault names (its `obj`), when it names one. */
  missing?: { type: string; value: string };
  cause?: unknown;
}

/** The one error type of the vSphere clients, SOAP and REST; `code` is stable, `message` is for humans. */
export class VsphereError extends Error {
  override readonly name = 'VsphereError';
  readonly faultType: string | undefined;
  readonly statusCode: number | undefined;
  method: string | undefined;
  readonly missing: { type: string; value: string } | undefined;

  constructor(
    readonly code: VsphereErrorCode,
    message: string,
    details: VsphereErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.faultType = details.faultType;
    this.statusCode = details.statusCode;
    this.method = details.method;
    this.missing = details.missing;
  }
}

/** True for an error of this code. */
export function isVsphereError(e: unknown, code?: VsphereErrorCode): e is VsphereError {
  return e instanceof VsphereError && (code === undefined || e.code === code);
}

/** Short reason for `vsphere_last_error_info`-style reporting and logs. */
export function errorReason(e: unknown): string {
  // Only a string is a code: whatever else an error carries must not reach a label value.
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') return e.code;
  return 'UNKNOWN';
}
