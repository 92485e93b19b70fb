/**
 * Refusals of the Policy Admin API. The class names are wire-level strings:
 * the service writes `ClassName message` on stderr, and clients (Qubes'
 * own PolicyClient, our qubes-policy) turn the first word back into the
 * exception, so they are spelt exactly as Qubes spells them. A bundler may
 * rename classes, so each carries its wire name explicitly.
 */
export class PolicyAdminException extends Error {
  readonly wireName: string = 'PolicyAdminException';

  constructor(message: string) {
    super(message);
  }
}

/** The file is not in the state the token says (changed since it was read, exists, missing). */
export class PolicyAdminTokenException extends PolicyAdminException {
  override readonly wireName: string = 'PolicyAdminTokenException';
}

export class PolicyAdminFileNotFoundException extends PolicyAdminException {
  override readonly wireName: string = 'PolicyAdminFileNotFoundException';
}

/** A request the client should have known not to send (bad method, argument, payload, token). */
export class PolicyAdminProtocolException extends PolicyAdminException {
  override readonly wireName: string = 'PolicyAdminProtocolException';
}

/** The change would leave a policy that does not load (or content that is not UTF-8). */
export class PolicyAdminSyntaxException extends PolicyAdminProtocolException {
  override readonly wireName: string = 'PolicyAdminSyntaxException';
}

export class PolicyAdminInvalidFileNameException extends PolicyAdminProtocolException {
  override readonly wireName: string = 'PolicyAdminInvalidFileNameException';
}

/** The name is fine but what it names is not a regular file of the directory (a link, a directory). */
export class PolicyAdminInvalidFilePathException extends PolicyAdminProtocolException {
  override readonly wireName: string = 'PolicyAdminInvalidFilePathException';
}

/** Every wire name, most specific first (clients map stderr's first word back with this). */
export const WIRE_CLASSES: Readonly<Record<string, new (message: string) => PolicyAdminException>> = {
  PolicyAdminTokenException,
  PolicyAdminFileNotFoundException,
  PolicyAdminSyntaxException,
  PolicyAdminInvalidFileNameException,
  PolicyAdminInvalidFilePathException,
  PolicyAdminProtocolException,
  PolicyAdminException,
};
